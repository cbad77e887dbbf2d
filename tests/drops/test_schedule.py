"""Unlocking: one new drop per local day, in the learner's timezone, across DST and timezone changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from drops.days import day_start, next_day_start
from drops.models import Drop, DropProgress
from drops.selectors import drop_states
from drops.services import DropLocked, drop_complete
from learnpath import services as learnpath_services
from tests.drops.conftest import enrol, utc

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def drop_at(path, position):
    return Drop.objects.get(path=path, position=position)


def progress(user, path, position):
    return DropProgress.objects.get(user=user, drop__path=path, drop__position=position)


def test_enrolling_makes_drop_one_available_and_the_rest_locked(make_user, tiny):
    user = make_user(timezone="Europe/Berlin")
    enrol(user, tiny, utc(2026, 3, 2, 9))
    states = drop_states(user=user, path=tiny, now=utc(2026, 3, 2, 9, 1))
    ordered = [states[d.pk].state for d in tiny.drops.order_by("position")]
    assert ordered == ["available", "locked", "locked", "locked"]


def test_next_drop_unlocks_at_the_next_local_midnight(make_user, tiny):
    user = make_user(timezone="Europe/Berlin")
    enrol(user, tiny, utc(2026, 6, 1, 6))
    result = drop_complete(user=user, drop=drop_at(tiny, 1), seconds_spent=300, now=utc(2026, 6, 1, 20))
    # 22:00 in Berlin (UTC+2): the next local day starts at 22:00 UTC.
    assert result.next_unlocks_at == utc(2026, 6, 1, 22)
    before = drop_states(user=user, path=tiny, now=utc(2026, 6, 1, 21, 59))[result.next_drop.pk]
    assert (before.state, before.read_ahead) == ("available", True)  # open only by reading ahead
    learnpath_services.profile_update(user=user, read_ahead_per_day=0)
    assert drop_states(user=user, path=tiny, now=utc(2026, 6, 1, 21, 59))[result.next_drop.pk].state == "locked"
    assert drop_states(user=user, path=tiny, now=utc(2026, 6, 1, 22))[result.next_drop.pk].state == "available"


@pytest.mark.parametrize(
    ("completed", "unlocks"),
    [
        # One second before local midnight: the next drop is available one second later.
        (datetime(2026, 6, 1, 23, 59, 59, tzinfo=BERLIN), datetime(2026, 6, 2, 0, 0, tzinfo=BERLIN)),
        # One second after local midnight: the next drop waits a whole day.
        (datetime(2026, 6, 2, 0, 0, 1, tzinfo=BERLIN), datetime(2026, 6, 3, 0, 0, tzinfo=BERLIN)),
    ],
)
def test_completion_a_second_either_side_of_local_midnight(make_user, tiny, completed, unlocks):
    user = make_user(timezone="Europe/Berlin")
    enrol(user, tiny, utc(2026, 6, 1, 6))
    result = drop_complete(user=user, drop=drop_at(tiny, 1), seconds_spent=300, now=completed)
    assert result.next_unlocks_at == unlocks.astimezone(UTC)


def test_spring_forward_day_is_23_hours(make_user, tiny):
    # Berlin moves clocks 02:00 -> 03:00 on 29 March 2026; midnight of the 30th is 22:00 UTC, not 23:00.
    user = make_user(timezone="Europe/Berlin")
    enrol(user, tiny, utc(2026, 3, 28, 10))
    result = drop_complete(user=user, drop=drop_at(tiny, 1), seconds_spent=60, now=utc(2026, 3, 29, 8))
    assert result.next_unlocks_at == utc(2026, 3, 29, 22)


def test_fall_back_day_is_25_hours(make_user, tiny):
    # New York moves clocks 02:00 -> 01:00 on 1 November 2026.
    user = make_user(timezone="America/New_York")
    enrol(user, tiny, utc(2026, 10, 31, 12))
    result = drop_complete(user=user, drop=drop_at(tiny, 1), seconds_spent=60, now=utc(2026, 11, 1, 5, 30))
    assert result.next_unlocks_at == utc(2026, 11, 2, 5)  # midnight EST
    assert result.next_unlocks_at - utc(2026, 11, 1, 4) == timedelta(hours=25)


def test_midnight_that_does_not_exist_unlocks_when_the_day_begins():
    # Santiago skips 00:00-01:00 on 6 September 2026: the day begins at 01:00 local, 04:00 UTC.
    santiago = ZoneInfo("America/Santiago")
    start = day_start(datetime(2026, 9, 6).date(), santiago)
    assert start == utc(2026, 9, 6, 4)
    assert start.astimezone(santiago).date().day == 6
    assert next_day_start(utc(2026, 9, 6, 2), santiago) == start


def test_missed_days_do_not_pile_up_and_never_relock(make_user, tiny):
    user = make_user(timezone="Europe/Berlin")
    enrol(user, tiny, utc(2026, 6, 1, 6))
    drop_complete(user=user, drop=drop_at(tiny, 1), seconds_spent=60, now=utc(2026, 6, 1, 8))
    a_week_later = utc(2026, 6, 8, 8)
    states = drop_states(user=user, path=tiny, now=a_week_later)
    assert [states[d.pk].state for d in tiny.drops.order_by("position")] == [
        "completed",
        "available",
        "locked",
        "locked",
    ]
    result = drop_complete(user=user, drop=drop_at(tiny, 2), seconds_spent=60, now=a_week_later)
    assert result.next_unlocks_at == datetime(2026, 6, 9, tzinfo=BERLIN).astimezone(UTC)
    # Changing timezone afterwards never moves an unlocked drop back into the future.
    learnpath_services.profile_update(user=user, timezone="Pacific/Kiritimati")
    assert progress(user, tiny, 2).unlocked_at == datetime(2026, 6, 2, tzinfo=BERLIN).astimezone(UTC)


def test_locked_drop_cannot_be_completed(make_user, tiny):
    user = make_user()
    enrol(user, tiny, utc(2026, 6, 1, 6))
    learnpath_services.profile_update(user=user, read_ahead_per_day=0)  # reading ahead: tests/drops/test_read_ahead.py
    with pytest.raises(DropLocked) as locked:
        drop_complete(user=user, drop=drop_at(tiny, 2), seconds_spent=60, now=utc(2026, 6, 1, 7))
    assert locked.value.unlocks_at is None
    drop_complete(user=user, drop=drop_at(tiny, 1), seconds_spent=60, now=utc(2026, 6, 1, 7))
    with pytest.raises(DropLocked) as locked:
        drop_complete(user=user, drop=drop_at(tiny, 2), seconds_spent=60, now=utc(2026, 6, 1, 23))
    assert locked.value.unlocks_at == utc(2026, 6, 2)


def test_timezone_change_moves_a_pending_unlock(make_user, tiny):
    user = make_user(timezone="Europe/Berlin")
    enrol(user, tiny, utc(2026, 6, 1, 6))
    drop_complete(user=user, drop=drop_at(tiny, 1), seconds_spent=60, now=utc(2026, 6, 1, 15))
    assert progress(user, tiny, 2).unlocked_at == utc(2026, 6, 1, 22)
    import time_machine

    with time_machine.travel(utc(2026, 6, 1, 16), tick=False):
        learnpath_services.profile_update(user=user, timezone="America/New_York")
    # Completed at 11:00 in New York: the next local day there starts at 04:00 UTC.
    assert progress(user, tiny, 2).unlocked_at == utc(2026, 6, 2, 4)


def test_flying_west_across_the_date_line(make_user, tiny):
    # Kiritimati (UTC+14) to Pago Pago (UTC-11): the calendar goes back a day.
    user = make_user(timezone="Pacific/Kiritimati")
    enrol(user, tiny, utc(2026, 6, 1, 0))
    drop_complete(user=user, drop=drop_at(tiny, 1), seconds_spent=60, now=utc(2026, 6, 1, 0))  # Mon 14:00 local
    assert progress(user, tiny, 2).unlocked_at == utc(2026, 6, 1, 10)  # Tue 00:00 +14
    import time_machine

    with time_machine.travel(utc(2026, 6, 1, 2), tick=False):
        learnpath_services.profile_update(user=user, timezone="Pacific/Pago_Pago")
    # Completion was Sunday 13:00 in Pago Pago: the next day there is Monday 00:00 -11 = 11:00 UTC.
    assert progress(user, tiny, 2).unlocked_at == utc(2026, 6, 1, 11)


def test_timezone_change_never_unlocks_in_the_past(make_user, tiny):
    user = make_user(timezone="Pacific/Pago_Pago")
    enrol(user, tiny, utc(2026, 6, 1, 0))
    drop_complete(user=user, drop=drop_at(tiny, 1), seconds_spent=60, now=utc(2026, 6, 1, 12))  # Mon 01:00 -11
    import time_machine

    moment = utc(2026, 6, 1, 13)
    with time_machine.travel(moment, tick=False):
        learnpath_services.profile_update(user=user, timezone="Pacific/Kiritimati")
    # In Kiritimati the completion was already Tuesday 02:00, so Wednesday would be next; it is never earlier
    # than the moment of the change either.
    assert progress(user, tiny, 2).unlocked_at == utc(2026, 6, 2, 10)
    assert progress(user, tiny, 2).unlocked_at >= moment
