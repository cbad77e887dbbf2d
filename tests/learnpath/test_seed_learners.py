"""`manage.py seed_learners N`: a realistic, reproducible benchmark data set, refused on a real install."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db.models import Count, F
from django.utils import timezone

from challenges.models import Submission
from drops.models import DailyActivity, DropProgress, ReviewCard, ReviewLog, Streak
from learnpath.models import Enrollment, LearnerProfile
from tests.conftest import api_client_for

N = 50


def _shape() -> list[tuple]:
    """Each seeded learner's history, summed up: what must come out the same for the same seed."""
    rows = []
    for user in User.objects.filter(username__startswith="seed-").order_by("username"):
        streak = Streak.objects.get(user=user)
        rows.append(
            (
                user.username,
                LearnerProfile.objects.get(user=user).timezone,
                ReviewCard.objects.filter(user=user).count(),
                ReviewLog.objects.filter(user=user).count(),
                DropProgress.objects.filter(user=user, completed_at__isnull=False).count(),
                Submission.objects.filter(user=user).count(),
                (streak.current, streak.longest, streak.freezes),
            )
        )
    return rows


@pytest.fixture
def seeded(content, capsys):
    call_command("seed_learners", N, "--seed", "7")
    return capsys.readouterr().out


def test_seeds_learners_with_consistent_histories(seeded):
    assert f"seeded {N} learners in" in seeded
    learners = User.objects.filter(username__startswith="seed-")
    assert learners.count() == N
    assert LearnerProfile.objects.filter(user__in=learners).count() == N
    assert Enrollment.objects.filter(user__in=learners).count() == N
    assert Streak.objects.filter(user__in=learners).count() == N
    # Enrolled on different days: some have read one drop, some the whole path.
    read = learners.annotate(n=Count("drop_progress", distinct=True)).values_list("n", flat=True)
    assert min(read) <= 2 < 10 <= max(read)
    # Every log is of the learner's own card, every card of an active recall card of a drop they read.
    assert not ReviewLog.objects.exclude(user_id=F("review_card__user_id")).exists()
    assert not ReviewCard.objects.filter(card__is_active=False).exists()
    for card in ReviewCard.objects.select_related("card")[:200]:
        assert DropProgress.objects.filter(user_id=card.user_id, drop_id=card.card.drop_id, completed_at__isnull=False)
    # A card's state is the one its last rating left, and it was added before it was first rated.
    for card in ReviewCard.objects.filter(last_review__isnull=False)[:200]:
        last = ReviewLog.objects.filter(review_card=card).order_by("-reviewed_at", "-pk").first()
        assert last.due_after == card.due
        assert card.added_at <= last.reviewed_at
    # Days that counted are the days something was done; a streak never exceeds them.
    for streak in Streak.objects.filter(user__in=learners):
        counted = DailyActivity.objects.filter(user_id=streak.user_id, counts_for_streak=True).count()
        assert streak.current <= streak.longest <= counted
    assert Submission.objects.filter(user__in=learners, status="passed").exists()
    assert Submission.objects.filter(user__in=learners).exclude(status="passed").exists()
    assert not Submission.objects.filter(user__in=learners, status__in=["queued", "running"]).exists()


def test_same_seed_same_data(content):
    # Histories run up to a moment: learners may be mid-session at "now", so the test fixes it.
    until = (timezone.now() - timedelta(hours=3)).isoformat()

    def seed(number: int) -> list[tuple]:
        User.objects.filter(username__startswith="seed-").delete()
        call_command("seed_learners", N, "--seed", str(number), "--until", until, verbosity=0)
        return _shape()

    first = seed(7)
    assert seed(7) == first
    assert seed(8) != first


def test_histories_end_at_until(content):
    until = timezone.now() - timedelta(days=3, hours=5)
    call_command("seed_learners", 20, "--until", until.isoformat(), verbosity=0)
    learners = User.objects.filter(username__startswith="seed-")
    assert ReviewLog.objects.filter(user__in=learners).exists()
    assert not ReviewLog.objects.filter(user__in=learners, reviewed_at__gt=until).exists()
    assert not DropProgress.objects.filter(user__in=learners, completed_at__gt=until).exists()
    assert not Submission.objects.filter(user__in=learners, created_at__gt=until).exists()


@pytest.mark.parametrize(
    ("until", "message"),
    [
        ("yesterday", "not an ISO 8601"),
        ("2026-11-01T10:00:00", "no UTC offset"),
        ("2999-01-01T00:00:00+00:00", "future"),
    ],
)
def test_until_must_be_a_past_moment_with_an_offset(content, until, message):
    with pytest.raises(CommandError, match=message):
        call_command("seed_learners", 3, "--until", until, verbosity=0)
    assert not User.objects.filter(username__startswith="seed-").exists()


def test_refuses_a_database_with_real_accounts(content, make_user):
    make_user("a-real-learner")
    with pytest.raises(CommandError, match="did not create"):
        call_command("seed_learners", 5, verbosity=0)
    assert not User.objects.filter(username__startswith="seed-").exists()
    call_command("seed_learners", 5, "--force", verbosity=0)
    assert User.objects.filter(username__startswith="seed-").count() == 5


def test_seeding_again_adds_learners(seeded):
    call_command("seed_learners", 5, verbosity=0)
    assert User.objects.filter(username__startswith="seed-").count() == N + 5
    assert User.objects.filter(username=f"seed-{N + 5:06d}").exists()


def test_seeded_learners_have_no_usable_password_unless_given(content):
    call_command("seed_learners", 2, verbosity=0)
    assert not any(user.has_usable_password() for user in User.objects.filter(username__startswith="seed-"))
    call_command("seed_learners", 1, "--password", "bench-learner-passphrase-1", verbosity=0)
    assert User.objects.get(username="seed-000003").check_password("bench-learner-passphrase-1")


def test_the_endpoints_work_for_seeded_learners(seeded):
    for user in User.objects.filter(username__startswith="seed-").order_by("?")[:10]:
        api = api_client_for(user)
        today = api.get("/api/today/")
        assert today.status_code == 200
        assert today.json()["enrolled"] is True
        progress = api.get("/api/progress/").json()
        assert progress["cards_in_deck"] == ReviewCard.objects.filter(user=user).count()
        assert progress["reviews_done"] == ReviewLog.objects.filter(user=user).count()
        assert progress["drops_done"] == DropProgress.objects.filter(user=user, completed_at__isnull=False).count()
        due = api.get("/api/reviews/due/").json()
        assert due["remaining"] == today.json()["reviews_due"]
        if due["cards"]:
            card = due["cards"][0]
            body = {"rating": 3} if card["kind"] == "recall" else {"answer": "not it"}
            assert api.post(f"/api/reviews/{card['id']}/", body, format="json").status_code == 200
