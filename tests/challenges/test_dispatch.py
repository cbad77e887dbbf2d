"""The database is the grading queue's source of truth: work is sent after commit, and sent again when lost.

Against the test run's real broker (kombu's filesystem transport, or Redis in CI), on a queue of this test's
own, so that nothing else running on the machine sees these messages. A broker that is down is a private
Redis stopped for real in tests/faults; here it is a closed port.
"""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from challenges import dispatch, services
from challenges.models import ExampleRun, Submission
from tests.fixtures.worker import purge

pytestmark = pytest.mark.django_db(transaction=True)

SUBMIT = "/api/challenges/{slug}/submissions/"
CODE = "def distillation_loss(*a):\n    return 0\n"


@pytest.fixture
def queue(settings):
    name = f"dispatch-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    settings.CELERY_GRADING_QUEUE = name
    yield name
    purge(name)


def held(queue: str) -> set[str]:
    return dispatch.broker_message_ids([queue])


def test_a_submission_is_sent_under_the_id_it_stores(api, challenge, queue):
    response = api.post(SUBMIT.format(slug=challenge.slug), {"code": CODE}, format="json")
    assert response.status_code == 202, response.content
    submission = Submission.objects.get(pk=response.json()["id"])
    assert submission.dispatched_at is not None and submission.task_id in held(queue)
    assert response.json()["grading_delayed"] is False


def test_a_broker_that_is_down_stores_the_submission_and_it_is_sent_later(
    api, client, learner, challenge, queue, monkeypatch
):
    from learnpath.celery_app import app

    with monkeypatch.context() as down:
        down.setattr(app, "send_task", _refused)
        response = api.post(SUBMIT.format(slug=challenge.slug), {"code": CODE}, format="json")
        example = api.post(f"/api/challenges/{challenge.slug}/try/", {"code": CODE}, format="json")
    assert response.status_code == 202 and example.status_code == 202
    submission = Submission.objects.get(pk=response.json()["id"])
    assert submission.status == "queued" and submission.dispatched_at is None
    assert submission.task_id not in held(queue)
    # Once the grace for a send in progress has passed, the learner is told that grading is delayed.
    past = timezone.now() - timedelta(seconds=dispatch.SEND_GRACE_SECONDS + 1)
    Submission.objects.filter(pk=submission.pk).update(queued_at=past)
    ExampleRun.objects.filter(pk=example.json()["id"]).update(created_at=past)
    data = api.get(response.json()["url"]).json()
    assert data["phase"] == "queued" and data["grading_delayed"] is True
    assert api.get(example.json()["url"]).json()["grading_delayed"] is True
    client.force_login(learner)
    page = client.get(f"/challenges/{challenge.slug}/submissions/{submission.pk}/verdict/")
    assert page.status_code == 200 and "Grading is delayed" in page.content.decode()
    # The broker is back: the mender sends what was never sent, once.
    sent = dispatch.dispatch_lost()
    assert sent == {"submissions": [submission.pk], "example_runs": [example.json()["id"]]}
    submission.refresh_from_db()
    assert submission.dispatched_at is not None and submission.task_id in held(queue)
    assert api.get(response.json()["url"]).json()["grading_delayed"] is False
    assert api.get(example.json()["url"]).json()["grading_delayed"] is False
    assert dispatch.dispatch_lost() == {"submissions": [], "example_runs": []}


def _refused(*args, **kwargs):
    from kombu.exceptions import OperationalError

    raise OperationalError("Error 111 connecting to 127.0.0.1:9. Connection refused.")


def test_a_message_the_broker_lost_is_sent_again_under_a_new_id(api, challenge, queue):
    response = api.post(SUBMIT.format(slug=challenge.slug), {"code": CODE}, format="json")
    submission = Submission.objects.get(pk=response.json()["id"])
    first_id = submission.task_id
    # Just sent: the mender leaves it be, even if it could not see it.
    assert dispatch.dispatch_lost() == {"submissions": [], "example_runs": []}
    # The broker is flushed (as a restart without persistence would leave it), and time passes.
    purge(queue)
    assert first_id not in held(queue)
    Submission.objects.filter(pk=submission.pk).update(
        dispatched_at=timezone.now() - timedelta(seconds=dispatch.SEND_GRACE_SECONDS + 1)
    )
    assert dispatch.dispatch_lost() == {"submissions": [submission.pk], "example_runs": []}
    submission.refresh_from_db()
    # A new id: a second message under the first one's id would pass for a redelivery and grade it again.
    assert submission.task_id != first_id and submission.task_id in held(queue)
    assert submission.status == "queued" and submission.attempt == 1


def test_a_message_still_held_is_not_sent_again(api, challenge, queue):
    response = api.post(SUBMIT.format(slug=challenge.slug), {"code": CODE}, format="json")
    submission = Submission.objects.get(pk=response.json()["id"])
    Submission.objects.filter(pk=submission.pk).update(dispatched_at=timezone.now() - timedelta(minutes=5))
    assert dispatch.dispatch_lost() == {"submissions": [], "example_runs": []}
    assert Submission.objects.get(pk=submission.pk).task_id == submission.task_id


def test_final_and_running_work_is_never_sent_again(api, challenge, queue):
    ids = [api.post(SUBMIT.format(slug=challenge.slug), {"code": CODE}, format="json").json()["id"] for _ in range(2)]
    purge(queue)
    long_ago = timezone.now() - timedelta(minutes=5)
    Submission.objects.filter(pk=ids[0]).update(status="passed", dispatched_at=long_ago, finished_at=long_ago)
    Submission.objects.filter(pk=ids[1]).update(status="running", dispatched_at=long_ago, started_at=long_ago)
    assert dispatch.dispatch_lost() == {"submissions": [], "example_runs": []}


def test_a_duplicate_message_grades_once(learner, challenge, queue, monkeypatch):
    """Sent again while the first message was in fact still on its way: the second finds nothing to do."""
    from challenges import tasks
    from challenges.kinds import grader
    from challenges.kinds.grader import Check, Verdict

    monkeypatch.setenv("GRADING_POOL_SIZE", "0")
    graded: list[str] = []

    def fake(target, code, **_options):
        graded.append(code)
        return Verdict(status="passed", score=1.0, checks=[Check("runs", True, "ok")], feedback="ok", timings={})

    monkeypatch.setattr(grader, "grade", fake)
    submission = services.submission_create(user=learner, challenge=challenge, code=CODE)
    first_id = Submission.objects.get(pk=submission.pk).task_id
    Submission.objects.filter(pk=submission.pk).update(dispatched_at=timezone.now() - timedelta(minutes=5))
    purge(queue)
    dispatch.dispatch_lost()
    second_id = Submission.objects.get(pk=submission.pk).task_id
    assert tasks.grade_submission.apply(args=(submission.pk,), task_id=first_id).get() == "passed"
    assert tasks.grade_submission.apply(args=(submission.pk,), task_id=second_id).get() == "skipped"
    assert len(graded) == 1 and Submission.objects.get(pk=submission.pk).grading_runs == 1
