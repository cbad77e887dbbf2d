"""The reaper tells a lost worker from its heartbeat, long before the grading's deadline.

Heartbeat rows are written here as a worker would write them (``workers.heartbeat``); the ping goes through
the test run's real broker, to nobody (no worker by that name) or to a real worker process.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from challenges import dispatch, services
from challenges.models import ExampleRun, Submission
from workers.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sent(monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr(dispatch, "submission_send", lambda submission: sent.append(submission.pk))
    return sent


@pytest.fixture
def grading(learner, challenge, sent):
    """A submission claimed a minute ago by worker ``w1@host``; its deadline is far ahead."""
    submission = services.submission_create(user=learner, challenge=challenge, code="def distillation_loss(): ...")
    services.submission_start(
        submission_id=submission.pk, task_id=submission.task_id, worker_host="w1@host", device="cpu"
    )
    started = timezone.now() - timedelta(minutes=1)
    Submission.objects.filter(pk=submission.pk).update(started_at=started)
    sent.clear()
    return Submission.objects.get(pk=submission.pk)


def beat(name: str, *, started_at, last_seen_at) -> None:
    WorkerHeartbeat.objects.update_or_create(
        name=name, defaults={"queues": ["gpu"], "pid": 1, "started_at": started_at, "last_seen_at": last_seen_at}
    )


def test_a_worker_that_beats_keeps_its_grading(grading, sent):
    now = timezone.now()
    beat("w1@host", started_at=now - timedelta(hours=1), last_seen_at=now)
    assert services.submissions_reap() == {"requeued": [], "errored": []}
    assert Submission.objects.get(pk=grading.pk).status == "running" and sent == []


def test_a_worker_that_started_again_has_lost_what_it_was_grading(grading, sent):
    now = timezone.now()
    beat("w1@host", started_at=now - timedelta(seconds=5), last_seen_at=now)  # restarted after the claim
    assert services.submissions_reap() == {"requeued": [grading.pk], "errored": []}
    requeued = Submission.objects.get(pk=grading.pk)
    assert requeued.status == "queued" and requeued.task_id != grading.task_id and sent == [grading.pk]
    assert requeued.attempt == grading.attempt  # the same attempt, graded again: not counted twice


def test_a_silent_worker_that_does_not_answer_a_ping_is_lost(grading, sent, settings):
    now = timezone.now()
    stale = now - timedelta(seconds=settings.WORKER_LOST_AFTER_SECONDS + 5)
    beat("w1@host", started_at=now - timedelta(hours=1), last_seen_at=stale)
    assert services.submissions_reap() == {"requeued": [grading.pk], "errored": []}


def test_a_worker_without_a_heartbeat_is_judged_by_the_deadline(grading, sent):
    assert services.submissions_reap() == {"requeued": [], "errored": []}
    later = grading.deadline_at + timedelta(seconds=1)
    assert services.submissions_reap(now=later) == {"requeued": [grading.pk], "errored": []}


def test_a_lost_workers_example_run_ends_in_error(learner, challenge, monkeypatch):
    monkeypatch.setattr(dispatch, "example_run_send", lambda run: None)
    run = services.example_run_create(user=learner, challenge=challenge, code="def distillation_loss(): ...")
    now = timezone.now()
    ExampleRun.objects.filter(pk=run.pk).update(
        status="running", worker_host="w2@host", started_at=now - timedelta(seconds=30)
    )
    beat("w2@host", started_at=now - timedelta(seconds=2), last_seen_at=now)
    services.submissions_reap()
    run.refresh_from_db()
    assert run.status == "error" and "stopped before it finished" in run.message and run.finished_at


@pytest.mark.worker
def test_a_silent_worker_that_answers_a_ping_keeps_its_grading(grading, sent, start_worker, settings, monkeypatch):
    """A database outage stops every heartbeat while the workers go on grading: the ping tells them apart."""
    monkeypatch.setenv("WORKER_HEARTBEAT_SECONDS", "3600")  # its first beat only: the test makes it stale
    worker = start_worker()
    [row] = WorkerHeartbeat.objects.filter(name__startswith=worker.name.split("@")[0])
    Submission.objects.filter(pk=grading.pk).update(worker_host=row.name)
    stale = timezone.now() - timedelta(seconds=settings.WORKER_LOST_AFTER_SECONDS + 5)
    WorkerHeartbeat.objects.filter(pk=row.pk).update(last_seen_at=stale, started_at=stale - timedelta(hours=1))
    assert services.submissions_reap() == {"requeued": [], "errored": []}
    worker.kill()
    assert services.submissions_reap() == {"requeued": [grading.pk], "errored": []}
