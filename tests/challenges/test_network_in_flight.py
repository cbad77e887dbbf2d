"""Gradings in flight per client network (GRADING_IN_FLIGHT_PER_NETWORK), across the accounts on it."""

from __future__ import annotations

import pytest

from challenges import dispatch
from challenges.models import ExampleRun, Submission
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db

CODE = "def distillation_loss(*a):\n    return 0\n"
HOME = "203.0.113.5"
NEIGHBOUR = "203.0.113.200"  # the same /24
ELSEWHERE = "198.51.100.5"


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    monkeypatch.setattr(dispatch, "submission_send", lambda submission: None)
    monkeypatch.setattr(dispatch, "example_run_send", lambda run: None)


def _submit(api, challenge, address: str):
    url = f"/api/challenges/{challenge.slug}/submissions/"
    return api.post(url, {"code": CODE}, format="json", REMOTE_ADDR=address)


def _try(api, challenge, address: str):
    return api.post(f"/api/challenges/{challenge.slug}/try/", {"code": CODE}, format="json", REMOTE_ADDR=address)


def test_the_cap_counts_gradings_across_the_accounts_on_one_network(api, make_user, challenge, settings):
    settings.GRADING_IN_FLIGHT_PER_NETWORK = 2
    other = api_client_for(make_user("flatmate"))
    assert _submit(api, challenge, HOME).status_code == 202
    assert _try(other, challenge, NEIGHBOUR).status_code == 202
    assert set(Submission.objects.values_list("client_network", flat=True)) == {"203.0.113.0/24"}
    assert set(ExampleRun.objects.values_list("client_network", flat=True)) == {"203.0.113.0/24"}

    for response in (_submit(api, challenge, HOME), _try(api, challenge, HOME), _submit(other, challenge, NEIGHBOUR)):
        assert response.status_code == 409
        assert "2 gradings from your network" in response.json()["detail"]
        assert "other accounts" in response.json()["detail"]
    # Another network is not affected, and a finished grading frees a place.
    third = api_client_for(make_user("elsewhere"))
    assert _submit(third, challenge, ELSEWHERE).status_code == 202
    Submission.objects.filter(client_network="203.0.113.0/24").update(status=Submission.Status.PASSED)
    assert _submit(other, challenge, NEIGHBOUR).status_code == 202


@pytest.mark.parametrize("cap", [0, None])
def test_no_cap_when_it_is_off(api, make_user, challenge, settings, cap):
    settings.GRADING_IN_FLIGHT_PER_NETWORK = cap
    accounts = [api] + [api_client_for(make_user(f"learner{n}")) for n in range(3)]
    for client in accounts:
        assert _submit(client, challenge, HOME).status_code == 202
    assert _try(api, challenge, HOME).status_code == 202
