"""Retry-safe writes against PostgreSQL: requests at once with one key do the work once, and keyed requests of one
learner with different keys do not deadlock."""

from __future__ import annotations

import threading
import uuid

import pytest

from challenges import services
from challenges.models import HintReveal
from tests.conftest import api_client_for
from tests.drops.test_races import run_at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("postgres_only")]

HINTS = "/api/challenges/distillation-loss/hints/"


def test_requests_at_once_with_one_key_reveal_one_hint(make_user, challenge):
    user = make_user("racer")
    key = str(uuid.uuid4())

    def reveal():
        response = api_client_for(user).post(HINTS, HTTP_IDEMPOTENCY_KEY=key)
        return response.status_code, response.content, response.has_header("Idempotent-Replayed")

    results = run_at_once(reveal, 6)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert {status for status, _, _ in results} == {201}
    assert len({body for _, body, _ in results}) == 1
    assert sorted(replayed for _, _, replayed in results) == [False] + [True] * 5
    assert HintReveal.objects.filter(user=user).count() == 1


def test_keyed_writes_of_one_learner_at_once_do_not_deadlock(make_user, challenge, monkeypatch):
    """Two hints at once, each with its own key, both records inserted before either service locks the learner's
    row: the records' foreign keys (checked at commit) must not make the two requests wait for each other."""
    user = make_user("busy")
    both_recorded = threading.Barrier(2)
    hint_reveal = services.hint_reveal

    def hint_reveal_once_both_have_recorded(**kwargs):
        try:
            both_recorded.wait(timeout=2)
        except threading.BrokenBarrierError:
            pass  # the other request is waiting for this one to commit, as it should
        return hint_reveal(**kwargs)

    monkeypatch.setattr(services, "hint_reveal", hint_reveal_once_both_have_recorded)
    keys = iter([str(uuid.uuid4()), str(uuid.uuid4())])

    results = run_at_once(lambda: api_client_for(user).post(HINTS, HTTP_IDEMPOTENCY_KEY=next(keys)).status_code, 2)

    assert results == [201, 201]
    assert HintReveal.objects.filter(user=user).count() == 2
