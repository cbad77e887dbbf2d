"""Learner endpoints at scale: bounded queries whatever the history, reads that never write, caches that
never show a stale state (a change is visible on the very next request, and so is the passing of time).

Query counts, never timings: the bounds are the same for a learner on day one and for one with four weeks
of drops, cards, review logs and submissions.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from challenges.models import Challenge, Submission
from drops.models import Drop, DropProgress, RecallCard, ReviewCard, ReviewLog
from learnpath.models import Path
from tests.conftest import DISTILLATION

PATH_PAGE = f"/paths/{DISTILLATION}/"
ENDPOINTS = ("/api/today/", "/api/progress/", "/api/reviews/due/", PATH_PAGE)
# A signed-in request with nothing cached: the session (1), the user with the profile (1) and the endpoint's
# own reads, the same number whatever the history. Today: enrolments, drops, today's activity, streak, due
# counts, two card lists, the next change, and up to three to tell rest days from missed ones. Progress:
# enrolments, drops, drops done, today's activity, streak, the same three, logs, cards and their count,
# challenges, submissions. Due reviews: today's activity, due counts, two card lists, the next change. The
# path page: the path's content (path, phases, drops, FAQ, challenges), enrolments, unlock times, the path's
# drop ids and the certificate.
# The path page: 12 with the count of drops read ahead today (drops.unlocks).
COLD_QUERIES = {"/api/today/": 14, "/api/progress/": 15, "/api/reviews/due/": 7, PATH_PAGE: 12}
# With the learner's summaries cached: the user (the session is read from the cache too).
WARM_QUERIES = 1


@pytest.fixture
def seeded(content):
    """Thirty seeded learners: some on their first day, some four weeks in with everything read."""
    call_command("seed_learners", 30, "--seed", "5", verbosity=0)
    users = list(User.objects.filter(username__startswith="seed-"))
    by_logs = sorted(users, key=lambda u: ReviewLog.objects.filter(user=u).count())
    return by_logs[0], by_logs[-1]


def _grow(user):
    """Make a long history longer still: ten times the review logs, and many more submissions."""
    logs = list(ReviewLog.objects.filter(user=user))
    ReviewLog.objects.bulk_create(
        [ReviewLog(**{f.attname: getattr(log, f.attname) for f in ReviewLog._meta.concrete_fields if f.name != "id"})
         for log in logs for _ in range(9)]
    )  # fmt: skip
    challenge = Challenge.objects.filter(is_active=True).first()
    start = Submission.objects.filter(user=user, challenge=challenge).order_by("-attempt").first() or None
    first = start.attempt + 1 if start else 1
    Submission.objects.bulk_create(
        [Submission(user=user, challenge=challenge, attempt=first + n, code="x = 1", status="failed", score=0.5)
         for n in range(40)]
    )  # fmt: skip


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return captured.captured_queries


def test_the_fixture_spans_small_and_large_histories(seeded):
    small, large = seeded
    _grow(large)
    assert ReviewLog.objects.filter(user=large).count() > 20 * max(1, ReviewLog.objects.filter(user=small).count())
    assert ReviewLog.objects.filter(user=large).count() > 1000
    assert ReviewCard.objects.filter(user=large).count() > 3 * max(1, ReviewCard.objects.filter(user=small).count())
    assert DropProgress.objects.filter(user=large, completed_at__isnull=False).count() >= 10
    assert Submission.objects.filter(user=large).count() >= 40


@pytest.mark.parametrize("url", ENDPOINTS)
def test_query_count_does_not_grow_with_the_history(seeded, url, django_assert_max_num_queries):
    small, large = seeded
    _grow(large)
    # Every seeded learner, not a sample: which histories the seed makes depends on the time of day it runs.
    for user in User.objects.filter(username__startswith="seed-").order_by("pk"):
        client = _client(user)
        cache.clear()  # cold: the session too comes from the database
        with django_assert_max_num_queries(COLD_QUERIES[url]):
            assert client.get(url).status_code == 200
        with django_assert_max_num_queries(WARM_QUERIES):
            assert client.get(url).status_code == 200


@pytest.mark.parametrize("url", ENDPOINTS)
def test_get_requests_do_not_write(seeded, url):
    small, large = seeded
    for user in (small, large):
        client = _client(user)
        cache.clear()
        for query in _queries(client, url) + _queries(client, url):
            assert not query["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")), query["sql"]


def test_an_account_without_a_profile_reads_without_writing(content, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.org", "a-long-admin-passphrase-1")
    client = _client(admin)
    for url in ("/api/today/", "/api/me/", "/api/progress/", "/accounts/settings/", PATH_PAGE):
        for query in _queries(client, url):
            assert not query["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")), (url, query["sql"])
    assert client.get("/api/me/").json()["timezone"] == "UTC"


# ---------- a change is visible on the next request ----------


@pytest.fixture
def day_one(api, enrolled):
    api.get("/api/today/")  # fill the caches
    api.get("/api/reviews/due/")
    api.get("/api/progress/")
    return api


def test_completing_a_drop_shows_at_once(day_one):
    drop_id = day_one.get("/api/today/").json()["new_drop"]["id"]
    day_one.post(f"/api/drops/{drop_id}/complete/", {"seconds_spent": 300}, format="json")
    today = day_one.get("/api/today/").json()
    assert today["completed_today"] is True
    assert today["new_drop"] is None
    assert today["reviews_due"] > 0
    assert day_one.get("/api/reviews/due/").json()["remaining"] == today["reviews_due"]
    assert day_one.get("/api/progress/").json()["drops_done"] == 1


def test_rating_a_card_shows_at_once(day_one):
    drop_id = day_one.get("/api/today/").json()["new_drop"]["id"]
    day_one.post(f"/api/drops/{drop_id}/complete/", {"seconds_spent": 300}, format="json")
    card = day_one.get("/api/reviews/due/").json()["cards"][0]
    assert card["last_review"] is None
    body = {"rating": 3} if card["kind"] == "recall" else {"answer": "definitely wrong"}
    assert day_one.post(f"/api/reviews/{card['id']}/", body, format="json").status_code == 200
    after = {c["id"]: c for c in day_one.get("/api/reviews/due/").json()["cards"]}
    assert card["id"] not in after or after[card["id"]]["last_review"] is not None
    assert day_one.get("/api/progress/").json()["reviews_done"] == 1
    assert day_one.get("/api/today/").json()["minutes"] >= 0


def test_a_profile_change_shows_at_once(day_one):
    assert day_one.patch("/api/me/", {"daily_goal_minutes": 12}, format="json").status_code == 200
    assert day_one.get("/api/today/").json()["goal_minutes"] == 12
    assert day_one.get("/api/progress/").json()["goal_minutes"] == 12


def test_a_submission_shows_in_progress_at_once(day_one, learner):
    from challenges.services import submission_create

    challenge = Challenge.objects.filter(is_active=True).first()
    before = {c["slug"]: c for c in day_one.get("/api/progress/").json()["challenges"]}
    assert before[challenge.slug]["attempts"] == 0
    submission = submission_create(user=learner, challenge=challenge, code="def f():\n    return 1\n")
    assert {c["slug"]: c for c in day_one.get("/api/progress/").json()["challenges"]}[challenge.slug]["attempts"] == 1
    # A verdict stored by a grading worker (any save of the submission) shows too.
    submission.status, submission.score = Submission.Status.PASSED, 1.0
    submission.save(update_fields=["status", "score"])
    standing = {c["slug"]: c for c in day_one.get("/api/progress/").json()["challenges"]}[challenge.slug]
    assert standing["status"] == "passed"
    assert standing["best_score"] == 1.0


def test_enrolling_shows_on_the_path_page_at_once(api, content):
    assert api.get(f"/api/paths/{DISTILLATION}/").json()["enrolled"] is False
    api.post(f"/api/paths/{DISTILLATION}/enroll/")
    outline = api.get(f"/api/paths/{DISTILLATION}/").json()
    assert outline["enrolled"] is True
    assert outline["phases"][0]["drops"][0]["state"] == "available"


def test_a_content_edit_shows_at_once(client, content):
    title = content.title
    assert title in client.get(PATH_PAGE).content.decode()
    drop = Drop.objects.get(path=content, position=1)
    drop.title = "A title fixed in the admin"
    drop.save()
    assert "A title fixed in the admin" in client.get(PATH_PAGE).content.decode()
    Path.objects.filter(pk=content.pk).update(title="Renamed behind the cache's back")
    call_command("loadcontent", verbosity=0)  # puts the files' title back, and marks the content stale
    page = client.get(PATH_PAGE).content.decode()
    assert title in page
    assert "A title fixed in the admin" not in page


# ---------- the passing of time is visible without any change ----------


def _read_first_drop(api) -> None:
    drop_id = api.get("/api/today/").json()["new_drop"]["id"]
    assert api.post(f"/api/drops/{drop_id}/complete/", {"seconds_spent": 300}, format="json").status_code == 201


def test_a_learning_step_comes_due_without_a_request_in_between(api, learner, enrolled):
    _read_first_drop(api)
    now = timezone.now()
    cards = ReviewCard.objects.filter(user=learner)
    cards.update(due=now + timedelta(hours=2))  # each one's next learning step, two hours away
    cache.clear()  # as if no summary had been cached before that state
    assert api.get("/api/today/").json()["reviews_due"] == 0
    assert api.get("/api/reviews/due/").json()["remaining"] == 0
    # Within the learn-ahead window of those steps the session holds them, without any write in between.
    with time_machine.travel(now + timedelta(hours=2) - timedelta(minutes=19), tick=False):
        assert api.get("/api/today/").json()["reviews_due"] == cards.count()
        assert api.get("/api/reviews/due/").json()["remaining"] == cards.count()


def _no_reading_ahead(api) -> None:
    """Turn reading ahead off: the next drop then stays locked until its day (drops.unlocks)."""
    assert api.patch("/api/me/", {"read_ahead_per_day": 0}, format="json").status_code == 200


def test_a_drop_unlocks_on_the_path_page_when_its_time_comes(api, enrolled):
    _no_reading_ahead(api)
    _read_first_drop(api)
    second = api.get(f"/api/paths/{DISTILLATION}/").json()["phases"][0]["drops"][1]
    assert second["state"] == "locked"
    unlocks_at = DropProgress.objects.get(drop_id=second["id"]).unlocked_at
    with time_machine.travel(unlocks_at + timedelta(seconds=1), tick=False):
        assert api.get(f"/api/paths/{DISTILLATION}/").json()["phases"][0]["drops"][1]["state"] == "available"
        assert api.get("/api/today/").json()["new_drop"]["id"] == second["id"]


def _outline_drop(page: str, drop_id: int) -> str:
    """The outline's entry for one drop in the path page's HTML, from its opening tag to the next drop's."""
    start = page.rindex('<li class="outline-drop', 0, page.index(f'id="drop-{drop_id}"'))
    following = page.find('<li class="outline-drop', start + 1)
    return page[start : following if following != -1 else page.index("</section>", start)]


@pytest.fixture
def browser(learner):
    return _client(learner)


def test_the_path_page_shows_a_completed_drop_and_a_content_edit_at_once(api, browser, enrolled):
    first = Drop.objects.get(path=enrolled, position=1)
    assert "is-available" in _outline_drop(browser.get(PATH_PAGE).content.decode(), first.pk)
    _read_first_drop(api)
    page = browser.get(PATH_PAGE).content.decode()
    assert "is-completed" in _outline_drop(page, first.pk)
    assert "Continue with day 2" not in page  # day 2 opens tomorrow (today only by reading ahead)
    assert "Open to read ahead" in _outline_drop(page, Drop.objects.get(path=enrolled, position=2).pk)
    first.title = "Retitled in the admin"
    first.save()
    assert "Retitled in the admin" in browser.get(PATH_PAGE).content.decode()


def test_a_drop_unlocks_on_the_path_page_html_when_its_time_comes(api, browser, learner, enrolled):
    _no_reading_ahead(api)
    _read_first_drop(api)
    second = Drop.objects.get(path=enrolled, position=2)
    unlocks_at = DropProgress.objects.get(user=learner, drop=second).unlocked_at
    assert "is-locked" in _outline_drop(browser.get(PATH_PAGE).content.decode(), second.pk)
    with time_machine.travel(unlocks_at + timedelta(seconds=1), tick=False):
        page = browser.get(PATH_PAGE).content.decode()
        assert "is-available" in _outline_drop(page, second.pk)
        assert f"Continue with day 2: {second.title}" in page


def test_the_path_page_writes_unlock_times_in_the_learners_timezone_at_once(api, browser, learner, enrolled):
    _no_reading_ahead(api)
    _read_first_drop(api)
    second = Drop.objects.get(path=enrolled, position=2)

    def shown(zone: str) -> str:
        unlocks_at = DropProgress.objects.get(user=learner, drop=second).unlocked_at
        return "Locked until " + timezone.localtime(unlocks_at, ZoneInfo(zone)).strftime("%a %-d %b, %H:%M")

    assert shown("UTC") in _outline_drop(browser.get(PATH_PAGE).content.decode(), second.pk)
    # Moving moves the unlock to the new local midnight, and the page writes it in the new timezone.
    assert api.patch("/api/me/", {"timezone": "Asia/Tokyo"}, format="json").status_code == 200
    assert shown("Asia/Tokyo").endswith("00:00")
    assert shown("Asia/Tokyo") in _outline_drop(browser.get(PATH_PAGE).content.decode(), second.pk)


def test_visitors_and_learners_each_get_their_own_path_page(browser, enrolled):
    assert "badge-available" in browser.get(PATH_PAGE).content.decode()
    visitor = Client().get(PATH_PAGE).content.decode()
    assert "Sign up and start day 1" in visitor
    assert "badge-" not in visitor and "certificate-panel" not in visitor
    assert Client().get("/paths/no-such-path/").status_code == 404
    assert browser.get("/paths/no-such-path/").status_code == 404


def test_retrievability_is_worked_out_for_the_moment_of_each_request(api, learner, enrolled):
    noon = datetime(2027, 6, 1, 12, tzinfo=UTC)  # far from the learner's midnight, when cached summaries expire
    with time_machine.travel(noon, tick=False):
        _read_first_drop(api)
        card = ReviewCard.objects.filter(user=learner).first()
        # FSRS counts whole days since the last review: two of them are complete twenty minutes from now.
        ReviewCard.objects.filter(pk=card.pk).update(
            state=ReviewCard.State.REVIEW, step=None, stability=4.0, difficulty=5.0,
            last_review=noon - timedelta(days=2) + timedelta(minutes=10), due=noon + timedelta(days=3),
        )  # fmt: skip
        cache.clear()
        first = api.get("/api/progress/").json()["average_retrievability"]
    with time_machine.travel(noon + timedelta(minutes=20), tick=False):
        later = api.get("/api/progress/").json()["average_retrievability"]
    assert 0 < later < first < 1


def test_recall_is_given_only_where_it_means_something_and_from_before_the_rating(api, learner, enrolled):
    noon = datetime(2027, 6, 1, 12, tzinfo=UTC)
    with time_machine.travel(noon, tick=False):
        _read_first_drop(api)
        fresh, seasoned = ReviewCard.objects.filter(user=learner).select_related("card").order_by("pk")[:2]
        # Both in long-term review and due: one last reviewed two hours ago, the other three days ago.
        for card, ago in ((fresh, timedelta(hours=2)), (seasoned, timedelta(days=3))):
            ReviewCard.objects.filter(pk=card.pk).update(
                state=ReviewCard.State.REVIEW, step=None, stability=4.0, difficulty=5.0,
                last_review=noon - ago, due=noon - timedelta(minutes=1),
            )  # fmt: skip
        cache.clear()
        shown = {c["id"]: c["retrievability"] for c in api.get("/api/reviews/due/").json()["cards"]}
        assert shown[fresh.pk] is None  # about 100% two hours after any review: says nothing
        assert 0 < shown[seasoned.pk] < 1
        today = {c["id"]: c["retrievability"] for c in api.get("/api/today/").json()["first_reviews"]}
        assert all(today[pk] == shown[pk] for pk in today)
        rated = api.post(f"/api/reviews/{seasoned.pk}/", _good(seasoned), format="json").json()
        assert rated["retrievability"] == shown[seasoned.pk]  # what FSRS expected, not ~1 just after
        assert api.post(f"/api/reviews/{fresh.pk}/", _good(fresh), format="json").json()["retrievability"] is None


def _good(review_card: ReviewCard) -> dict:
    """A Good rating, with the right answer where the card's kind asks for one."""
    if review_card.card.kind == RecallCard.Kind.RECALL:
        return {"rating": 3}
    return {"rating": 3, "answer": review_card.card.answer}


def test_a_cached_summary_shows_recall_once_the_last_review_is_a_day_old(api, learner, enrolled):
    noon = datetime(2027, 6, 1, 12, tzinfo=UTC)
    with time_machine.travel(noon, tick=False):
        _read_first_drop(api)
        card = ReviewCard.objects.filter(user=learner).order_by("pk").first()
        ReviewCard.objects.filter(pk=card.pk).update(
            state=ReviewCard.State.REVIEW, step=None, stability=4.0, difficulty=5.0,
            last_review=noon - timedelta(hours=23), due=noon - timedelta(minutes=1),
        )  # fmt: skip
        cache.clear()
        assert _recall_shown(api, card.pk) is None
    with time_machine.travel(noon + timedelta(minutes=59), tick=False):
        assert _recall_shown(api, card.pk) is None  # still under a day: the cached answer holds
    with time_machine.travel(noon + timedelta(hours=1, minutes=1), tick=False):
        assert 0 < _recall_shown(api, card.pk) < 1  # a day old now, with no change of state in between


def _recall_shown(api, card_id: int):
    cards = {c["id"]: c for c in api.get("/api/reviews/due/").json()["cards"]}
    return cards[card_id]["retrievability"]
