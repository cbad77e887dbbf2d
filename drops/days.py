"""Local calendar days: the learner's day boundaries in their IANA timezone, as aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def local_date(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of ``day`` in ``zone``, in UTC.

    Where midnight does not exist (a DST jump at 00:00, as in America/Santiago) zoneinfo's fold=0 maps the
    missing wall time with the old offset, which is exactly the instant the day begins.
    """
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def next_day_start(moment: datetime, zone: ZoneInfo) -> datetime:
    return day_start(local_date(moment, zone) + timedelta(days=1), zone)


def to_utc(moment: datetime) -> datetime:
    """fsrs accepts only datetimes whose tzinfo is ``datetime.timezone.utc`` (not ZoneInfo('UTC'))."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: the daily loop works with aware datetimes only")
    return moment.astimezone(UTC)
