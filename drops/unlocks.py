"""The unlock rule, in one place: when a learner may open a drop, reading ahead included.

A drop's ``DropProgress.unlocked_at`` is the moment it unlocks on the schedule: the path's first drop at
enrolment, every later one at the start of the local day after the day of the drop before it. That
"day of the drop before" is the day it was completed, or, for a drop read ahead (completed before its
``unlocked_at``), the day it would have unlocked: reading ahead borrows the next day's drop, it does not
move the rest of the schedule earlier.

A learner may open a drop when

- it has unlocked (``unlocked_at <= now``), or
- it is read ahead: its progress row exists (the drop before it is completed, so today's drop is done) and
  has not unlocked yet, and the learner has completed fewer than their ``read_ahead_per_day`` drops ahead
  of schedule on their current local day (0 turns reading ahead off).

Only the drop right after the last completed one has a progress row, so at most one drop per path is open
by reading ahead at a time; completing it uses one of the day's read-aheads. Everything here is pure: the
callers (drops.selectors, drops.services) read the rows and the learner's setting.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from drops.days import local_date, next_day_start


def is_read_ahead(unlocked_at: datetime, completed_at: datetime | None) -> bool:
    """A drop was read ahead when it was completed before it would have unlocked."""
    return completed_at is not None and completed_at < unlocked_at


@dataclass(frozen=True)
class ReadAheadAllowance:
    """How much reading ahead the learner has left on their current local day."""

    per_day: int  # the learner's setting (0: off)
    used_today: int  # drops completed today before they would have unlocked
    today: date

    @property
    def left(self) -> int:
        return max(0, self.per_day - self.used_today)


def read_ahead_allowance(
    *, per_day: int, read_ahead_completions: Iterable[datetime], now: datetime, zone: ZoneInfo
) -> ReadAheadAllowance:
    """``read_ahead_completions``: when each drop read ahead was completed (any day; today's are counted)."""
    today = local_date(now, zone)
    used = sum(1 for completed_at in read_ahead_completions if local_date(completed_at, zone) == today)
    return ReadAheadAllowance(per_day=per_day, used_today=used, today=today)


def may_read_ahead(
    *, unlocked_at: datetime, completed_at: datetime | None, now: datetime, allowance: ReadAheadAllowance
) -> bool:
    """Whether a drop with a progress row that has not unlocked yet may be opened now, ahead of schedule."""
    return completed_at is None and unlocked_at > now and allowance.left > 0


def may_open(
    *, unlocked_at: datetime, completed_at: datetime | None, now: datetime, allowance: ReadAheadAllowance
) -> bool:
    """Whether the learner may read (and complete) a drop with this progress row now."""
    if completed_at is not None or unlocked_at <= now:
        return True
    return may_read_ahead(unlocked_at=unlocked_at, completed_at=completed_at, now=now, allowance=allowance)


def next_unlock_at(*, unlocked_at: datetime, completed_at: datetime, zone: ZoneInfo) -> datetime:
    """When the drop after this completed one unlocks: the start of the local day after this drop's day
    (the day it was completed; for a drop read ahead, the day it would have unlocked)."""
    return next_day_start(max(completed_at, unlocked_at), zone)
