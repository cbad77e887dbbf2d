"""Run on examples through HTTP: queued on the grading queue, never an attempt, the caller's own, limited.

The run itself, by a real worker in the sandbox, is in tests/workers/test_example_runs.py.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from challenges import dispatch, services
from challenges.kinds import KINDS
from challenges.models import ExampleRun, Submission
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db

TRY = "/api/challenges/{slug}/try/"
CODE = "def distillation_loss(*a):\n    return 0\n"


@pytest.fixture
def queued(monkeypatch):
    """Record what would be queued instead of talking to a broker."""
    sent: list[int] = []
    monkeypatch.setattr(dispatch, "example_run_send", lambda run: sent.append(run.pk))
    monkeypatch.setattr(dispatch, "submission_send", lambda submission: None)
    return sent


def test_try_queues_a_run_and_counts_no_attempt(api, learner, challenge, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(TRY.format(slug=challenge.slug), {"code": CODE}, format="json")
    assert response.status_code == 202, response.content
    data = response.json()
    assert data["status"] == "queued" and data["is_final"] is False and data["examples"] == []
    assert data["url"] == f"/api/example-runs/{data['id']}/"
    assert queued == [data["id"]]
    assert not Submission.objects.exists()
    detail = api.get("/api/challenges/distillation-loss/").json()
    assert detail["attempts"] == 0 and detail["status"] == "not_tried" and detail["examples"] is True
    assert api.get(data["url"]).json()["id"] == data["id"]


def test_a_run_is_the_callers_own(api, make_user, challenge, queued):
    run_url = api.post(TRY.format(slug=challenge.slug), {"code": CODE}, format="json").json()["url"]
    other = api_client_for(make_user("someone-else"))
    assert other.get(run_url).status_code == 404
    assert api.get("/api/example-runs/999999/").status_code == 404


def test_a_kind_without_examples_is_409(api, challenge, queued, monkeypatch):
    # Every kind has examples today (train-student's run is in test_train_student_examples.py); a new kind may not.
    monkeypatch.setitem(KINDS, "train-student", replace(KINDS["train-student"], examples=False))
    response = api.post(TRY.format(slug="train-student"), {"code": "def train_student(*a):\n    pass\n"}, format="json")
    assert response.status_code == 409
    assert "no examples" in response.json()["detail"]
    assert api.get("/api/challenges/train-student/").json()["examples"] is False
    assert not ExampleRun.objects.exists() and queued == []


@pytest.mark.parametrize("body", [{"code": ""}, {"code": 42}, {}, ["x"]])
def test_invalid_code_is_400(api, challenge, queued, body):
    assert api.post(TRY.format(slug=challenge.slug), body, format="json").status_code == 400
    assert not ExampleRun.objects.exists()


def test_in_flight_runs_are_limited_and_old_runs_pruned(api, learner, challenge, queued):
    for _ in range(services.EXAMPLE_RUNS_IN_FLIGHT):
        assert api.post(TRY.format(slug=challenge.slug), {"code": CODE}, format="json").status_code == 202
    response = api.post(TRY.format(slug=challenge.slug), {"code": CODE}, format="json")
    assert response.status_code == 409 and "already running" in response.json()["detail"]
    ExampleRun.objects.update(status=ExampleRun.Status.RAN)
    for _ in range(services.EXAMPLE_RUNS_KEPT + 2):
        ExampleRun.objects.update(status=ExampleRun.Status.RAN)
        assert api.post(TRY.format(slug=challenge.slug), {"code": CODE}, format="json").status_code == 202
    assert ExampleRun.objects.filter(user=learner).count() == services.EXAMPLE_RUNS_KEPT


def test_try_is_rate_limited(api, challenge, queued, settings):
    rates = {"submissions": "2/min", "example_runs": "2/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    codes = []
    for _ in range(3):
        ExampleRun.objects.update(status=ExampleRun.Status.RAN)
        codes.append(api.post(TRY.format(slug=challenge.slug), {"code": CODE}, format="json").status_code)
    assert codes == [202, 202, 429]
    # Its own counter: running examples does not use up the learner's submissions.
    submissions = f"/api/challenges/{challenge.slug}/submissions/"
    assert api.post(submissions, {"code": CODE}, format="json").status_code == 202


def test_hints_come_rendered(api, challenge):
    data = api.post("/api/challenges/distillation-loss/hints/").json()
    assert "`F.cross_entropy" in data["hint"]
    assert "<code>F.cross_entropy(student_logits, labels)</code>" in data["hint_html"]
    assert "`" not in data["hint_html"]
    detail = api.get("/api/challenges/distillation-loss/").json()
    assert detail["hints_revealed_html"] == [data["hint_html"]]
