"""Reading ahead (issue 20): once today's drop is done the next one opens now, up to the learner's daily limit;
the schedule, the streak and the reviews stay honest (drops.unlocks)."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from drops import unlocks
from drops.days import day_start
from drops.models import DailyActivity, Drop, DropProgress, ReviewCard, Streak
from drops.selectors import drop_state, progress_summary, streak_view, today_plan
from drops.services import DropLocked, drop_complete, review_card_rate
from learnpath import services as learnpath_services
from tests.conftest import api_client_for
from tests.drops.conftest import build_path, enrol, utc

BERLIN = ZoneInfo("Europe/Berlin")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")


def drop_at(path, position):
    return Drop.objects.get(path=path, position=position)


def progress(user, drop):
    return DropProgress.objects.get(user=user, drop=drop)


@pytest.fixture
def path(db):
    return build_path(drops=4)


def berlin_learner(make_user, path, per_day: int | None = None):
    """Enrolled on Monday 1 June 2026 at 08:00 Berlin; drop 1 completed at 11:00 Berlin."""
    user = make_user("ines", timezone="Europe/Berlin")
    enrol(user, path, utc(2026, 6, 1, 6))
    if per_day is not None:
        learnpath_services.profile_update(user=user, read_ahead_per_day=per_day)
    drop_complete(user=user, drop=drop_at(path, 1), seconds_spent=300, now=utc(2026, 6, 1, 9))
    return user


# ---------- the rule ----------


def test_the_next_drop_opens_once_todays_is_done_and_keeps_its_day(make_user, path):
    user = make_user("ines", timezone="Europe/Berlin")
    enrol(user, path, utc(2026, 6, 1, 6))
    assert drop_state(user=user, drop=drop_at(path, 2), now=utc(2026, 6, 1, 8)).state == "locked"  # not yet done
    drop_complete(user=user, drop=drop_at(path, 1), seconds_spent=300, now=utc(2026, 6, 1, 9))

    state = drop_state(user=user, drop=drop_at(path, 2), now=utc(2026, 6, 1, 10))
    assert (state.state, state.read_ahead, state.unlocks_at) == ("available", True, utc(2026, 6, 1, 22))
    result = drop_complete(user=user, drop=drop_at(path, 2), seconds_spent=240, now=utc(2026, 6, 1, 10))
    assert result.newly_completed and result.progress.seconds_spent == 240  # counted from drop 1's completion
    assert unlocks.is_read_ahead(result.progress.unlocked_at, result.progress.completed_at)
    # Drop 2 was Tuesday's: drop 3 keeps Wednesday, it does not move to Tuesday.
    assert result.next_unlocks_at == day_start(date(2026, 6, 3), BERLIN) == utc(2026, 6, 2, 22)
    assert ReviewCard.objects.filter(user=user, card__drop=drop_at(path, 2)).count() == 3  # cards join at once

    third = drop_state(user=user, drop=drop_at(path, 3), now=utc(2026, 6, 1, 11))
    assert (third.state, third.read_ahead, third.read_ahead_limit_reached) == ("locked", False, True)
    with pytest.raises(DropLocked):
        drop_complete(user=user, drop=drop_at(path, 3), seconds_spent=60, now=utc(2026, 6, 1, 11))
    # A drop with no progress row (the one before is not done) never opens ahead.
    assert drop_state(user=user, drop=drop_at(path, 4), now=utc(2026, 6, 1, 11)).state == "locked"


def test_zero_turns_reading_ahead_off(make_user, path):
    user = berlin_learner(make_user, path, per_day=0)
    state = drop_state(user=user, drop=drop_at(path, 2), now=utc(2026, 6, 1, 10))
    assert (state.state, state.read_ahead, state.read_ahead_limit_reached) == ("locked", False, False)
    with pytest.raises(DropLocked):
        drop_complete(user=user, drop=drop_at(path, 2), seconds_spent=60, now=utc(2026, 6, 1, 10))
    assert today_plan(user=user, now=utc(2026, 6, 1, 10)).read_ahead_drop is None


def test_a_limit_of_two_opens_two_drops_a_day(make_user, path):
    user = berlin_learner(make_user, path, per_day=2)
    drop_complete(user=user, drop=drop_at(path, 2), seconds_spent=60, now=utc(2026, 6, 1, 10))
    result = drop_complete(user=user, drop=drop_at(path, 3), seconds_spent=60, now=utc(2026, 6, 1, 11))
    assert result.next_unlocks_at == utc(2026, 6, 3, 22)  # drop 3 was Wednesday's: drop 4 is Thursday's
    assert drop_state(user=user, drop=drop_at(path, 4), now=utc(2026, 6, 1, 12)).read_ahead_limit_reached


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        # 22:30 UTC on 1 June is 00:30 on 2 June in Berlin: a new local day, a new read-ahead.
        ("Europe/Berlin", "available"),
        # ... and 15:30 on 1 June in Los Angeles: still the day drop 2 was read ahead.
        ("America/Los_Angeles", "locked"),
    ],
)
def test_the_limit_is_per_local_day(make_user, path, zone, expected):
    user = make_user("kai", timezone=zone)
    local = ZoneInfo(zone)
    enrol(user, path, day_start(date(2026, 6, 1), local) + timedelta(hours=8))
    drop_complete(
        user=user, drop=drop_at(path, 1), seconds_spent=60, now=day_start(date(2026, 6, 1), local) + timedelta(hours=9)
    )
    drop_complete(
        user=user, drop=drop_at(path, 2), seconds_spent=60, now=day_start(date(2026, 6, 1), local) + timedelta(hours=10)
    )
    moment = utc(2026, 6, 1, 22, 30)
    assert drop_state(user=user, drop=drop_at(path, 3), now=moment).state == expected
    if expected == "available":
        result = drop_complete(user=user, drop=drop_at(path, 3), seconds_spent=60, now=moment)
        assert result.newly_completed and result.progress.completed_at < result.progress.unlocked_at
    else:
        with pytest.raises(DropLocked):
            drop_complete(user=user, drop=drop_at(path, 3), seconds_spent=60, now=moment)


def test_a_timezone_change_keeps_the_read_ahead_day(make_user, path):
    user = berlin_learner(make_user, path)
    drop_complete(user=user, drop=drop_at(path, 2), seconds_spent=60, now=utc(2026, 6, 1, 10))
    with time_machine.travel(utc(2026, 6, 1, 11), tick=False):
        learnpath_services.profile_update(user=user, timezone="America/Los_Angeles")
    # Drop 2 would have unlocked at Tuesday 00:00 Berlin (Monday 15:00 in LA): drop 3 comes the LA day after.
    assert progress(user, drop_at(path, 3)).unlocked_at == day_start(date(2026, 6, 2), LOS_ANGELES)


# ---------- streak, activity and Today ----------


def test_reading_ahead_adds_no_streak_day_and_the_next_day_is_kept_by_reviews(make_user, path):
    user = berlin_learner(make_user, path)
    assert Streak.objects.get(user=user).current == 1
    drop_complete(user=user, drop=drop_at(path, 2), seconds_spent=300, now=utc(2026, 6, 1, 10))
    streak = Streak.objects.get(user=user)
    assert (streak.current, streak.last_day) == (1, date(2026, 6, 1))  # the same day, counted once
    monday = DailyActivity.objects.get(user=user, date=date(2026, 6, 1))
    assert (monday.drops_completed, monday.counts_for_streak) == (2, True)  # read on Monday: Monday's activity
    assert not DailyActivity.objects.filter(user=user, date=date(2026, 6, 2)).exists()  # nothing credited ahead

    tuesday = utc(2026, 6, 2, 9)
    plan = today_plan(user=user, now=tuesday)
    assert plan.new_drop is None and plan.next_drop == drop_at(path, 3)  # no new drop today: it was read
    assert [(r.drop, r.read_on) for r in plan.read_ahead_for_today] == [(drop_at(path, 2), date(2026, 6, 1))]
    assert plan.read_ahead_drop == drop_at(path, 3) and plan.read_ahead_left == 1  # a new day, a new read-ahead
    assert plan.counts.in_session > 0 and not plan.streak.today_counts and plan.streak.current == 1

    for card in ReviewCard.objects.filter(user=user, due__lte=tuesday):
        review_card_rate(user=user, review_card_id=card.pk, rating=4, answer=card.card.answer, now=tuesday)
    streak = Streak.objects.get(user=user)
    assert (streak.current, streak.last_day) == (2, date(2026, 6, 2))  # the reviews kept Tuesday


def test_a_day_with_nothing_left_after_reading_ahead_is_a_rest_day(make_user, path):
    user = berlin_learner(make_user, path)
    drop_complete(user=user, drop=drop_at(path, 2), seconds_spent=60, now=utc(2026, 6, 1, 10))
    moment = utc(2026, 6, 1, 11)
    for card in ReviewCard.objects.filter(user=user, due__lte=moment):  # known well: none due for days
        review_card_rate(user=user, review_card_id=card.pk, rating=4, answer=card.card.answer, now=moment)
    assert ReviewCard.objects.filter(user=user, due__lt=utc(2026, 6, 3, 22)).count() == 0
    # Tuesday had no drop waiting (drop 2 was read) and no card due: skipping it breaks nothing.
    assert streak_view(Streak.objects.get(user=user), date(2026, 6, 3)).current == 1
    drop_complete(user=user, drop=drop_at(path, 3), seconds_spent=60, now=utc(2026, 6, 3, 9))
    assert Streak.objects.get(user=user).current == 2


def test_progress_flags_the_drops_read_ahead(make_user, path):
    user = berlin_learner(make_user, path)
    drop_complete(user=user, drop=drop_at(path, 2), seconds_spent=60, now=utc(2026, 6, 1, 10))
    summary = progress_summary(user=user, now=utc(2026, 6, 1, 11))
    assert summary["read_ahead"] == [
        {
            "drop_id": drop_at(path, 2).pk,
            "path": path.slug,
            "position": 2,
            "title": "Drop 2",
            "read_on": date(2026, 6, 1),
            "unlock_day": date(2026, 6, 2),
        }
    ]
    assert summary["drops_done"] == 2


# ---------- the API ----------


@pytest.fixture
def api(make_user, path):
    user = make_user("lin", timezone="Europe/Berlin")
    enrol(user, path, utc(2026, 6, 1, 6))
    client = api_client_for(user)
    client.user = user
    return client


def test_the_api_reads_ahead_and_refuses_beyond_the_limit(api, path):
    first, second, third = (drop_at(path, n) for n in (1, 2, 3))
    with time_machine.travel(utc(2026, 6, 1, 9), tick=False):
        assert api.get("/api/today/").json()["read_ahead"]["drop"] is None  # today's drop first
        locked = api.get(f"/api/drops/{second.pk}/")
        assert locked.status_code == 403 and "read_ahead_limit_reached" not in locked.json()
        assert api.post(f"/api/drops/{first.pk}/complete/", {"seconds_spent": 300}, format="json").status_code == 201
        read_ahead = api.get("/api/today/").json()["read_ahead"]
        assert (read_ahead["drop"]["id"], read_ahead["left_today"], read_ahead["per_day"]) == (second.pk, 1, 1)

        body = api.get(f"/api/drops/{second.pk}/").json()
        assert (body["state"], body["read_ahead"], body["unlocks_at"]) == ("available", True, "2026-06-01T22:00:00Z")
        response = api.post(f"/api/drops/{second.pk}/complete/", {"seconds_spent": 300}, format="json")
        assert response.status_code == 201
        body = response.json()
        assert (body["read_ahead"], body["next_unlocks_at"], body["streak"]["current"]) == (
            True,
            "2026-06-02T22:00:00Z",
            1,
        )

        today = api.get("/api/today/").json()
        assert today["read_ahead"]["drop"] is None and today["read_ahead"]["left_today"] == 0
        assert today["streak"]["current"] == 1
        for response in (
            api.get(f"/api/drops/{third.pk}/"),
            api.post(f"/api/drops/{third.pk}/complete/", {"seconds_spent": 60}, format="json"),
        ):
            assert response.status_code == 403
            assert response.json()["read_ahead_limit_reached"] is True
            assert response.json()["unlocks_at"] == "2026-06-02T22:00:00Z"

        progress_body = api.get("/api/progress/").json()
        assert [(r["drop_id"], r["read_on"], r["unlock_day"]) for r in progress_body["read_ahead"]] == [
            (second.pk, "2026-06-01", "2026-06-02")
        ]
        outline = api.get(f"/api/paths/{path.slug}/").json()
        drops = {d["id"]: d for phase in outline["phases"] for d in phase["drops"]}
        assert (drops[second.pk]["read_ahead"], drops[second.pk]["would_have_unlocked_at"]) == (
            True,
            "2026-06-01T22:00:00Z",
        )
        assert drops[first.pk]["read_ahead"] is False and drops[third.pk]["state"] == "locked"

    with time_machine.travel(utc(2026, 6, 2, 8), tick=False):  # Tuesday in Berlin: drop 2's day
        today = api.get("/api/today/").json()
        assert today["new_drop"] is None
        assert [(r["drop"]["id"], r["read_on"]) for r in today["read_ahead"]["read_earlier"]] == [
            (second.pk, "2026-06-01")
        ]
        assert today["read_ahead"]["drop"]["id"] == third.pk
        assert api.get(f"/api/drops/{third.pk}/").status_code == 200


def test_the_setting_is_bounded_with_a_human_message(api):
    for value in (-1, 4, "many"):
        response = api.patch("/api/me/", {"read_ahead_per_day": value}, format="json")
        assert response.status_code == 400
        assert "from 0 (off) to 3" in str(response.json())
    response = api.patch("/api/me/", {"read_ahead_per_day": 0}, format="json")
    assert response.status_code == 200 and response.json()["read_ahead_per_day"] == 0
    assert api.get("/api/me/").json()["read_ahead_per_day"] == 0


def test_the_settings_page_has_the_setting(client, make_user):
    from learnpath.forms import ProfileForm

    user = make_user("noor")
    form = ProfileForm(instance=user.profile)
    assert form["read_ahead_per_day"].value() == 1
    data = {"timezone": "UTC", "reminder_hour": 18, "daily_goal_minutes": 5, "daily_review_cap": 50}
    bad = ProfileForm({**data, "read_ahead_per_day": 9}, instance=user.profile)
    assert not bad.is_valid() and "from 0 (off) to 3" in bad.errors["read_ahead_per_day"][0]
    good = ProfileForm({**data, "read_ahead_per_day": 2}, instance=user.profile)
    assert good.is_valid(), good.errors


def test_the_pages_read_ahead(client, make_user, path):
    user = berlin_learner(make_user, path)
    client.force_login(user)
    second, third = drop_at(path, 2), drop_at(path, 3)
    with time_machine.travel(utc(2026, 6, 1, 10), tick=False):
        today = client.get("/today/").content.decode()
        assert "Read the next drop now" in today and f'href="/drops/{second.pk}/"' in today
        assert "You are reading ahead" in client.get(f"/drops/{second.pk}/").content.decode()
        response = client.post(f"/drops/{second.pk}/complete/", {"seconds_spent": "120"})
        assert response.status_code == 302
        today = client.get("/today/").content.decode()
        assert "Read the next drop now" not in today and 'data-testid="read-ahead-used"' in today
        assert 'data-testid="tomorrow-no-drop"' in today
        locked = client.get(f"/drops/{third.pk}/")
        assert locked.status_code == 403 and 'data-testid="read-ahead-limit"' in locked.content.decode()
        outline = client.get(f"/paths/{path.slug}/").content.decode()
        assert "Read ahead on <time" in outline
        assert 'data-testid="read-ahead-list"' in client.get("/progress/").content.decode()
    with time_machine.travel(utc(2026, 6, 2, 8), tick=False):  # Tuesday: drop 2's day, no new drop
        today = client.get("/today/").content.decode()
        assert 'data-testid="read-earlier"' in today and "Read the next drop now" in today
        assert client.get(f"/drops/{third.pk}/").status_code == 200
