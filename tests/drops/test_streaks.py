"""Goal minutes and streaks on frozen clocks: freezes, DST, the date line, both sides of local midnight."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from drops.models import DailyActivity, Drop, ReviewCard, Streak
from drops.selectors import streak_view, today_plan
from drops.services import activity_record, drop_complete, review_card_rate
from drops.streaks import REVIEW_SECONDS_CAP, settle_missed_days, streak_count_day
from learnpath import services as learnpath_services
from tests.drops.conftest import build_path, enrol, utc

BERLIN = ZoneInfo("Europe/Berlin")


def count_days(days: list[date]) -> Streak:
    streak = Streak(current=0, longest=0, freezes=0)
    for day in days:
        streak_count_day(streak, day)
    return streak


def run(start: date, length: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(length)]


def test_consecutive_days_grow_the_streak_and_a_gap_restarts_it():
    streak = count_days(run(date(2026, 6, 1), 3) + [date(2026, 6, 6)])
    assert (streak.current, streak.longest, streak.freezes) == (1, 3, 0)


def test_the_same_day_twice_counts_once():
    streak = count_days([date(2026, 6, 1), date(2026, 6, 1), date(2026, 6, 2)])
    assert streak.current == 2


def test_a_freeze_per_seven_days_at_most_two():
    streak = count_days(run(date(2026, 6, 1), 7))
    assert streak.freezes == 1
    streak = count_days(run(date(2026, 6, 1), 21))
    assert (streak.current, streak.freezes) == (21, 2)


def test_a_freeze_is_spent_on_a_missed_day():
    days = run(date(2026, 6, 1), 7) + [date(2026, 6, 9)]  # 8 June missed
    streak = count_days(days)
    assert (streak.current, streak.freezes, streak.freezes_used) == (8, 0, 1)


def test_two_missed_days_with_one_freeze_break_the_streak():
    streak = count_days(run(date(2026, 6, 1), 7) + [date(2026, 6, 10)])
    assert (streak.current, streak.longest, streak.freezes) == (1, 7, 0)


def test_reading_the_streak_spends_nothing_but_shows_a_broken_streak_as_zero():
    streak = count_days(run(date(2026, 6, 1), 3))
    assert streak_view(streak, date(2026, 6, 4)).current == 3  # today not done yet: still alive
    assert streak_view(streak, date(2026, 6, 5)).current == 0  # 4 June missed, no freeze
    assert streak.current == 3
    frozen = count_days(run(date(2026, 6, 1), 7))
    view = streak_view(frozen, date(2026, 6, 9))
    assert (view.current, view.freezes) == (7, 0)
    settle_missed_days(frozen, date(2026, 6, 9))
    assert frozen.freezes == 0


def complete_each_day(user, path, moments):
    for position, moment in enumerate(moments, start=1):
        drop_complete(user=user, drop=Drop.objects.get(path=path, position=position), seconds_spent=60, now=moment)


def test_daily_completions_across_spring_forward(make_user, db):
    path = build_path(drops=5)
    user = make_user(timezone="Europe/Berlin")
    enrol(user, path, utc(2026, 3, 26, 6))
    # 27, 28, 29 (the 23-hour day) and 30 March, each just after the drop unlocked at local midnight.
    moments = [datetime(2026, 3, d, 0, 0, 30, tzinfo=BERLIN) for d in (27, 28, 29, 30)]
    complete_each_day(user, path, moments)
    assert Streak.objects.get(user=user).current == 4


def test_completion_a_second_before_and_after_midnight_are_two_days(make_user, db):
    path = build_path(drops=3)
    user = make_user(timezone="America/New_York")
    tz = ZoneInfo("America/New_York")
    enrol(user, path, utc(2026, 11, 1, 12))
    complete_each_day(
        user, path, [datetime(2026, 11, 1, 23, 59, 59, tzinfo=tz), datetime(2026, 11, 2, 0, 0, 1, tzinfo=tz)]
    )
    days = list(DailyActivity.objects.filter(user=user).values_list("date", "drops_completed"))
    assert days == [(date(2026, 11, 1), 1), (date(2026, 11, 2), 1)]
    assert Streak.objects.get(user=user).current == 2


def test_flying_east_across_the_date_line_skips_a_date_without_breaking_the_streak(make_user, db):
    path = build_path(drops=4)
    user = make_user(timezone="Pacific/Pago_Pago")  # UTC-11
    enrol(user, path, utc(2026, 6, 1, 0))
    drop_complete(user=user, drop=Drop.objects.get(path=path, position=1), seconds_spent=60, now=utc(2026, 6, 1, 20))
    assert Streak.objects.get(user=user).last_day == date(2026, 6, 1)  # Monday 09:00 in Pago Pago
    with time_machine.travel(utc(2026, 6, 2, 8), tick=False):  # Mon 21:00 there, Tue 22:00 in Kiritimati
        learnpath_services.profile_update(user=user, timezone="Pacific/Kiritimati")
    # Wednesday in Kiritimati: Tuesday vanished in the flight, yet nothing was missed.
    drop_complete(user=user, drop=Drop.objects.get(path=path, position=2), seconds_spent=60, now=utc(2026, 6, 2, 12))
    streak = Streak.objects.get(user=user)
    assert (streak.current, streak.freezes_used) == (2, 0)


def test_flying_west_across_the_date_line_repeats_a_date_without_counting_it_twice(make_user, db):
    path = build_path(drops=4)
    user = make_user(timezone="Pacific/Kiritimati")
    enrol(user, path, utc(2026, 6, 1, 0))
    drop_complete(user=user, drop=Drop.objects.get(path=path, position=1), seconds_spent=60, now=utc(2026, 6, 1, 0))
    with time_machine.travel(utc(2026, 6, 1, 2), tick=False):  # Mon 16:00 in Kiritimati, Sun 15:00 in Pago Pago
        learnpath_services.profile_update(user=user, timezone="Pacific/Pago_Pago")
    # Monday again in Pago Pago: drop 2 unlocked at its midnight; it extends the streak once, not twice.
    drop_complete(user=user, drop=Drop.objects.get(path=path, position=2), seconds_spent=60, now=utc(2026, 6, 1, 12))
    assert Streak.objects.get(user=user).current == 2
    drop_complete(user=user, drop=Drop.objects.get(path=path, position=3), seconds_spent=60, now=utc(2026, 6, 2, 12))
    assert Streak.objects.get(user=user).current == 3


@pytest.mark.usefixtures("fsrs_no_fuzz")
def test_finishing_the_days_reviews_counts_the_day(make_user, db):
    path = build_path(drops=2)
    user = make_user(timezone="Europe/Berlin")
    enrol(user, path, utc(2026, 6, 1, 6))
    drop_complete(user=user, drop=Drop.objects.get(path=path, position=1), seconds_spent=60, now=utc(2026, 6, 1, 7))
    for card in ReviewCard.objects.filter(user=user):  # all graduated, due on 3 June
        card.state, card.stability, card.difficulty, card.step = 2, 2.0, 5.0, None
        card.last_review, card.due = utc(2026, 6, 1, 7), utc(2026, 6, 3, 7)
        card.save()
    now = utc(2026, 6, 3, 9)  # drop 2 is waiting too, but reviews alone count the day
    cards = list(ReviewCard.objects.filter(user=user))
    for card in cards[:-1]:
        review_card_rate(user=user, review_card_id=card.pk, rating=3, answer=card.card.answer, now=now)
        assert not DailyActivity.objects.get(user=user, date=date(2026, 6, 3)).counts_for_streak
    review_card_rate(user=user, review_card_id=cards[-1].pk, rating=3, answer=cards[-1].card.answer, now=now)
    assert DailyActivity.objects.get(user=user, date=date(2026, 6, 3)).counts_for_streak
    streak = Streak.objects.get(user=user)
    assert (streak.current, streak.last_day) == (1, date(2026, 6, 3))  # 2 June was missed


def test_goal_minutes_are_capped_per_action(make_user, tiny):
    user = make_user(timezone="Europe/Berlin")
    enrol(user, tiny, utc(2026, 6, 1, 6))
    result = drop_complete(
        user=user, drop=Drop.objects.get(path=tiny, position=1), seconds_spent=86_400, now=utc(2026, 6, 1, 12)
    )
    assert result.progress.seconds_spent == 18 * 60  # three times the drop's 6 estimated minutes
    activity_record(user=user, now=utc(2026, 6, 1, 12), seconds_reviewing=10_000)
    activity = DailyActivity.objects.get(user=user)
    assert activity.seconds_reviewing == REVIEW_SECONDS_CAP
    # Completing again counts nothing more.
    drop_complete(user=user, drop=Drop.objects.get(path=tiny, position=1), seconds_spent=900, now=utc(2026, 6, 1, 13))
    activity.refresh_from_db()
    assert (activity.seconds_reading, activity.drops_completed) == (18 * 60, 1)


def test_reading_time_cannot_exceed_the_time_since_unlock(make_user, tiny):
    user = make_user()
    enrol(user, tiny, utc(2026, 6, 1, 6))
    result = drop_complete(
        user=user, drop=Drop.objects.get(path=tiny, position=1), seconds_spent=600, now=utc(2026, 6, 1, 6, 2)
    )
    assert result.progress.seconds_spent == 120


def test_today_plan_shows_goal_minutes_and_streak(make_user, tiny):
    user = make_user(timezone="Europe/Berlin")
    enrol(user, tiny, utc(2026, 6, 1, 6))
    drop_complete(user=user, drop=Drop.objects.get(path=tiny, position=1), seconds_spent=330, now=utc(2026, 6, 1, 7))
    plan = today_plan(user=user, now=utc(2026, 6, 1, 8))
    assert (plan.minutes, plan.goal_minutes, plan.streak.current, plan.streak.today_counts) == (5, 5, 1, True)
    assert plan.new_drop is None and plan.next_unlock_at == utc(2026, 6, 1, 22)
    assert plan.counts.in_session == 3


def test_days_with_nothing_waiting_are_rest_days_not_missed(make_user, db):
    """After the path is done and before the next review falls due, skipping days breaks nothing."""
    from drops.selectors import rest_days, rest_days_before

    user = make_user("rosa", timezone="Europe/Berlin")
    path = build_path("rest", drops=1)
    start = utc(2026, 6, 1, 8)
    enrol(user, path, start - timedelta(hours=1))
    drop_complete(user=user, drop=Drop.objects.get(path=path, position=1), seconds_spent=60, now=start)
    # Review every card well so that none is due for days.
    for day_offset in range(0, 3):
        moment = start + timedelta(days=day_offset, hours=1)
        for card in ReviewCard.objects.filter(user=user, due__lte=moment):
            review_card_rate(user=user, review_card_id=card.pk, rating=4, answer=card.card.answer, now=moment)
    soonest = ReviewCard.objects.filter(user=user).order_by("due").first().due
    due_day = soonest.astimezone(BERLIN).date()
    streak = Streak.objects.get(user=user)
    last_day = streak.last_day
    assert (due_day - last_day).days >= 3, "the test needs a gap with nothing due"
    rest = rest_days_before(streak=streak, today=due_day, zone=BERLIN)
    assert rest == {last_day + timedelta(days=n) for n in range(1, (due_day - last_day).days)}
    assert rest_days(user_id=user.pk, zone=BERLIN, first=due_day, last=due_day) == frozenset()  # a card is due

    before = streak.current
    assert streak_view(streak, due_day).current == before  # alive: the days in between had nothing to do
    streak_count_day(streak, due_day, rest=rest)
    assert streak.current == before + 1 and streak.freezes_used == 0
    without_rest = Streak(current=before, longest=before, freezes=0, last_day=last_day)
    streak_count_day(without_rest, due_day)
    assert without_rest.current == 1  # the same gap, were there work waiting, would break it

    # Through the real service: finishing the reviews due that day counts it, and the streak goes on.
    moment = max(soonest, utc(due_day.year, due_day.month, due_day.day, 12))
    for card in ReviewCard.objects.filter(user=user, due__lte=moment):
        review_card_rate(user=user, review_card_id=card.pk, rating=3, answer=card.card.answer, now=moment)
    assert Streak.objects.get(user=user).current == before + 1


def test_a_day_with_a_drop_waiting_is_not_a_rest_day(make_user, db):
    from drops.selectors import rest_days

    user = make_user("otto", timezone="Europe/Berlin")
    path = build_path("busy", drops=2)
    start = utc(2026, 6, 1, 8)
    enrol(user, path, start - timedelta(hours=1))
    drop_complete(user=user, drop=Drop.objects.get(path=path, position=1), seconds_spent=60, now=start)
    # Drop 2 unlocks on 2 June and is never read: every later day has work waiting.
    rest = rest_days(user_id=user.pk, zone=BERLIN, first=date(2026, 6, 2), last=date(2026, 6, 6))
    assert rest == frozenset()
