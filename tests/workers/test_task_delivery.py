"""The grading task under redelivery (acks_late, reject_on_worker_lost), its phases, and the Celery settings.

The task runs in-process with the grader replaced, as in test_grading_task.py; one test grades for real to
see that the grader reports the checking phase only when the sandbox returned outputs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from challenges import dispatch, limits, services, tasks
from challenges.kinds import grader
from challenges.kinds.grader import Check, Verdict
from challenges.models import Submission

pytestmark = pytest.mark.django_db


def verdict(status="passed") -> Verdict:
    return Verdict(
        status=status,
        score=1.0 if status == "passed" else 0.0,
        checks=[Check("runs", True, "ok")],
        feedback="All checks passed.",
        timings={"total_seconds": 0.5},
        grader_version="v1",
    )


@pytest.fixture
def submission(learner, challenge):
    return Submission.objects.create(user=learner, challenge=challenge, code="def distillation_loss(): ...", attempt=1)


@pytest.fixture
def gradings(monkeypatch):
    """Replace the grader; each call records the submission's phase before and after it reports checking."""
    monkeypatch.setenv("GRADING_POOL_SIZE", "0")
    calls: list[dict] = []

    def fake(target, code, *, on_phase=None, **_options):
        row = Submission.objects.get(code=code, status="running")
        seen = {"before": row.phase, "checking_at": row.checking_at}
        if on_phase is not None:
            on_phase("checking")
        seen["after"] = Submission.objects.get(pk=row.pk).phase
        calls.append(seen)
        return verdict()

    monkeypatch.setattr(grader, "grade", fake)
    return calls


def deliver(submission_id: int, task_id: str = "task-1") -> str:
    return tasks.grade_submission.apply(args=(submission_id,), task_id=task_id).get()


def test_the_task_records_each_phase(submission, gradings):
    assert submission.phase == "queued"
    assert deliver(submission.pk) == "passed"
    assert gradings == [{"before": "running", "checking_at": None, "after": "checking"}]
    submission.refresh_from_db()
    assert submission.phase == "done" and submission.started_at <= submission.checking_at <= submission.finished_at


def test_the_same_task_delivered_twice_grades_once(submission, gradings):
    assert deliver(submission.pk) == "passed"
    first = Submission.objects.get(pk=submission.pk)
    # The broker hands the same message out again (acks_late: a lost acknowledgement): nothing happens.
    assert deliver(submission.pk) == "skipped"
    again = Submission.objects.get(pk=submission.pk)
    assert len(gradings) == 1
    assert (again.status, again.finished_at, again.grading_runs) == ("passed", first.finished_at, 1)


def test_redelivery_after_a_dead_worker_grades_again_from_the_start(submission, gradings):
    """reject_on_worker_lost: the worker process died mid-check; the same message comes straight back."""
    earlier = timezone.now() - timedelta(seconds=30)
    Submission.objects.filter(pk=submission.pk).update(
        status="running", task_id="task-1", grading_runs=1, started_at=earlier, checking_at=earlier
    )
    assert deliver(submission.pk) == "passed"
    # The new run starts as running, not as the dead run's checking.
    assert gradings == [{"before": "running", "checking_at": None, "after": "checking"}]
    assert Submission.objects.get(pk=submission.pk).grading_runs == 2


def test_a_submission_that_keeps_losing_its_worker_ends_in_error(submission, gradings):
    Submission.objects.filter(pk=submission.pk).update(
        status="running", task_id="task-1", grading_runs=limits.MAX_GRADING_RUNS
    )
    assert deliver(submission.pk) == "skipped"
    assert gradings == []
    submission.refresh_from_db()
    assert submission.status == "error" and submission.feedback == services.LOST_WORKER
    assert deliver(submission.pk) == "skipped" and gradings == []


def test_a_late_redelivery_after_the_reaper_never_grades_twice(
    submission, gradings, monkeypatch, django_capture_on_commit_callbacks
):
    """The reaper requeued a lost worker's submission under a fresh task; the old message turns up too."""
    sent: list[int] = []
    monkeypatch.setattr(dispatch, "submission_send", lambda submission: sent.append(submission.pk))
    long_ago = timezone.now() - timedelta(seconds=5)
    Submission.objects.filter(pk=submission.pk).update(
        status="running", task_id="task-old", grading_runs=1, started_at=long_ago, deadline_at=long_ago
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert services.submissions_reap()["requeued"] == [submission.pk]
    assert sent == [submission.pk]
    # Whichever message comes first grades it; the other finds it taken or final.
    assert deliver(submission.pk, task_id="task-old") == "passed"
    assert deliver(submission.pk, task_id="task-new") == "skipped"
    assert len(gradings) == 1


def test_the_checking_mark_touches_only_its_own_run(submission):
    Submission.objects.filter(pk=submission.pk).update(status="running", task_id="task-2")
    services.submission_mark_checking(submission_id=submission.pk, task_id="task-1")  # a stale run's callback
    assert Submission.objects.get(pk=submission.pk).phase == "running"
    services.submission_mark_checking(submission_id=submission.pk, task_id="task-2")
    assert Submission.objects.get(pk=submission.pk).phase == "checking"


def test_the_grader_reports_checking_only_when_the_sandbox_returned_outputs(challenge, reference_code):
    from challenges.content import read_target

    target = read_target(django_settings.CONTENT_DIR, "distillation-loss")
    phases: list[str] = []
    assert grader.grade(target, reference_code, on_phase=phases.append).status == "passed"
    assert phases == ["checking"]
    phases.clear()
    assert grader.grade(target, "def distillation_loss(:\n", on_phase=phases.append).status == "failed"
    assert phases == []


# --------------------------------------------------------------------------- Celery settings


def test_the_grading_task_is_acknowledged_late_and_rejected_when_its_worker_is_lost(settings):
    task = tasks.grade_submission
    assert task.acks_late is True and task.reject_on_worker_lost is True
    # A hard time limit acknowledges the message (the reaper handles the row): no redelivery loop.
    assert task.acks_on_failure_or_timeout is True
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    assert settings.CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS is False


def test_visibility_timeout_covers_every_unacknowledged_wait():
    longest = limits.longest_hard_limit_seconds() + limits.RETRY_COUNTDOWN_MAX_SECONDS
    assert limits.broker_visibility_timeout_seconds() > longest
    assert limits.broker_visibility_timeout_seconds() >= limits.MIN_VISIBILITY_TIMEOUT_SECONDS
    # The retry countdown limits.py allows for is the task's own.
    assert max(tasks._backoff(n) for n in range(tasks.MAX_RETRIES + 10)) <= limits.RETRY_COUNTDOWN_MAX_SECONDS


def test_visibility_timeout_grows_with_the_limits(monkeypatch):
    monkeypatch.setitem(limits.MAX_LIMITS, "wall_seconds", 4 * 3600)
    assert limits.broker_visibility_timeout_seconds() > 4 * 3600 + limits.RETRY_COUNTDOWN_MAX_SECONDS


def test_settings_take_the_visibility_timeout_from_the_limits():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "learnpath.settings.test", "REDIS_URL": "redis://127.0.0.1:9/0"}
    script = (
        "import json; from django.conf import settings; "
        "print(json.dumps([settings.CELERY_BROKER_URL, settings.CELERY_BROKER_TRANSPORT_OPTIONS]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    url, options = json.loads(out.stdout.strip().splitlines()[-1])
    assert url == "redis://127.0.0.1:9/0"
    assert options["visibility_timeout"] == limits.broker_visibility_timeout_seconds()
    # A broker that hangs fails a send in seconds: the submission is stored and sent later.
    assert options["socket_connect_timeout"] <= 2 and options["socket_timeout"] <= 5
