"""Completion races against PostgreSQL: two requests at once count once."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from drops.models import DailyActivity, Drop, DropProgress, ReviewCard, Streak
from drops.services import drop_complete
from tests.drops.conftest import build_path

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("postgres_only")]


def run_at_once(fn, count: int) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def worker(i):
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as error:  # noqa: BLE001 - reported to the test below
            results[i] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_concurrent_completions_count_once(make_user):
    from learnpath import services

    path = build_path("race", drops=3)
    user = make_user("racer", timezone="Europe/Berlin")
    services.enrollment_create(user=user, path=path)
    drop = Drop.objects.get(path=path, position=1)
    results = run_at_once(lambda: drop_complete(user=user, drop=drop, seconds_spent=120), 6)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r.newly_completed for r in results) == 1
    assert DropProgress.objects.filter(user=user).count() == 2
    assert ReviewCard.objects.filter(user=user).count() == 3
    activity = DailyActivity.objects.get(user=user)
    assert (activity.drops_completed, activity.seconds_reading) == (
        1,
        DropProgress.objects.get(drop=drop).seconds_spent,
    )
    assert Streak.objects.get(user=user).current == 1


def test_first_actions_of_a_new_learner_at_once_create_one_streak_row(make_user):
    from learnpath import services

    path = build_path("race2", drops=2)
    user = make_user("racer2")
    services.enrollment_create(user=user, path=path)
    Streak.objects.filter(user=user).delete()
    drop = Drop.objects.get(path=path, position=1)
    results = run_at_once(lambda: drop_complete(user=user, drop=drop, seconds_spent=10), 4)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert Streak.objects.filter(user=user).count() == 1
