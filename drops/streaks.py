"""Goal-minute caps and streak rules, shared by reads (the streak as it stands today) and writes (a day that
counts). Pure: they change a Streak in memory and never save or query; the rest days they take are read by
drops.selectors.rest_days_before.
"""

from __future__ import annotations

from datetime import date, timedelta

from drops.models import Streak

# Client-reported time is capped per action so that the goal cannot be inflated.
REVIEW_SECONDS_CAP = 120
READING_CAP_FACTOR = 3  # a drop counts for at most three times its estimated minutes
READING_SECONDS_FLOOR_CAP = 15 * 60
FREEZE_EVERY_DAYS = 7
MAX_FREEZES = 2


def streak_count_day(streak: Streak, day: date, rest: frozenset[date] = frozenset()) -> None:
    """Count ``day``: freezes cover missed days in between (one each); without enough, the streak restarts.

    ``rest`` holds days on which nothing was waiting: skipping them is no lapse.
    """
    if streak.last_day is not None and day <= streak.last_day:
        return
    settle_missed_days(streak, day, rest)
    streak.current += 1
    if streak.current % FREEZE_EVERY_DAYS == 0 and streak.freezes < MAX_FREEZES:
        streak.freezes += 1
    streak.longest = max(streak.longest, streak.current)
    streak.last_day = day


def settle_missed_days(streak: Streak, today: date, rest: frozenset[date] = frozenset()) -> None:
    """Spend freezes on the days missed between the last counted day and ``today`` (in place, not saved).

    Days in ``rest`` (nothing was waiting) are not missed: they neither grow nor break the streak.
    """
    if streak.last_day is None:
        return
    gap = (today - streak.last_day).days - 1
    missed = sum(1 for n in range(1, gap + 1) if streak.last_day + timedelta(days=n) not in rest)
    if missed <= 0:
        return
    if missed <= streak.freezes:
        streak.freezes -= missed
        streak.freezes_used += missed
        streak.last_day = today - timedelta(days=1)
    else:
        streak.freezes_used += streak.freezes
        streak.freezes = 0
        streak.current = 0
