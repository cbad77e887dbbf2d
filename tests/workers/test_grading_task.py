"""grade_submission and reap_submissions, run in-process with the grader replaced: lifecycle and retries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.db import OperationalError
from django.utils import timezone

from challenges import limits, services
from challenges.grading import Check, GradeResult, GradingInfrastructureError
from challenges.models import Submission
from workers import grading

pytestmark = pytest.mark.django_db


def result(status="failed", score=0.5, message="expected 1, got 2") -> GradeResult:
    return GradeResult(
        status=status,
        score=score,
        checks=[Check("runs", True, "ok"), Check("combined", status == "passed", message)],
        timings={"total_seconds": 1.5},
        device="cpu",
        feedback=f"feedback: {message}",
        mistakes=["KL direction swapped"] if status == "failed" else [],
    )


@pytest.fixture
def submission(learner, challenge):
    return Submission.objects.create(user=learner, challenge=challenge, code="def distillation_loss(): ...", attempt=1)


@pytest.fixture
def fake_grade(monkeypatch):
    calls = []

    # These tests are about the task's bookkeeping; they start no sandbox, pre-warmed or not.
    monkeypatch.setenv("GRADING_PREWARM", "0")

    def install(*outcomes):
        def fake(slug, code, *, device="cpu", limits=None, seed=None, prewarmed=None):
            calls.append({"slug": slug, "device": device, "limits": limits, "prewarmed": prewarmed})
            outcome = outcomes[min(len(calls), len(outcomes)) - 1]
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome

        monkeypatch.setattr(grading, "grade", fake)
        return calls

    return install


def run(submission_id: int, task_id: str = "task-1"):
    return grading.grade_submission.apply(args=(submission_id,), task_id=task_id)


def test_records_the_verdict(submission, fake_grade, monkeypatch):
    monkeypatch.setenv("GRADING_DEVICE", "cpu")
    calls = fake_grade(result("failed"))
    assert run(submission.pk).get() == "failed"
    submission.refresh_from_db()
    assert submission.status == "failed" and submission.score == 0.5
    assert submission.checks[1] == {"name": "combined", "passed": False, "message": "expected 1, got 2"}
    assert submission.mistakes == ["KL direction swapped"] and submission.feedback.startswith("feedback")
    assert submission.device == "cpu" and submission.worker_host and submission.task_id == "task-1"
    assert submission.started_at <= submission.finished_at and submission.grading_runs == 1
    assert calls[0]["limits"].wall_seconds == 40 and calls[0]["slug"] == "distillation-loss"


def test_is_idempotent(submission, fake_grade):
    calls = fake_grade(result("passed", 1.0))
    run(submission.pk)
    assert run(submission.pk, task_id="task-2").get() == "skipped"
    assert run(submission.pk).get() == "skipped"
    assert len(calls) == 1
    assert Submission.objects.get(pk=submission.pk).status == "passed"


def test_missing_submission_is_skipped(db, fake_grade):
    calls = fake_grade(result())
    assert run(987654).get() == "skipped" and calls == []


def test_redelivered_message_regrades_its_abandoned_submission(submission, fake_grade):
    """acks_late: the broker hands the same task id back after its worker died mid-grade."""
    Submission.objects.filter(pk=submission.pk).update(status="running", task_id="task-1", grading_runs=1)
    fake_grade(result("passed", 1.0))
    assert run(submission.pk, task_id="task-1").get() == "passed"
    assert Submission.objects.get(pk=submission.pk).grading_runs == 2
    # Another task never takes over a submission that is running.
    Submission.objects.filter(pk=submission.pk).update(status="running", task_id="task-1")
    assert run(submission.pk, task_id="task-9").get() == "skipped"


def test_learner_failure_is_never_retried(submission, fake_grade):
    calls = fake_grade(result("error", 0.0, "Your code could not be loaded"), result("passed", 1.0))
    assert run(submission.pk).get() == "error"
    assert len(calls) == 1
    assert Submission.objects.get(pk=submission.pk).status == "error"


def test_infrastructure_error_is_retried_then_graded(submission, fake_grade):
    calls = fake_grade(GradingInfrastructureError("bwrap missing"), OperationalError("db gone"), result("passed", 1.0))
    assert run(submission.pk).get() == "passed"
    assert len(calls) == 3
    submission.refresh_from_db()
    assert submission.status == "passed" and submission.grading_runs == 3


def test_infrastructure_error_gives_up_with_a_clear_message(submission, fake_grade):
    calls = fake_grade(GradingInfrastructureError("bwrap missing"))
    assert run(submission.pk).get() == "error"
    assert len(calls) == grading.MAX_RETRIES + 1
    submission.refresh_from_db()
    assert submission.status == "error" and submission.feedback == grading.GRADER_UNAVAILABLE
    assert submission.checks == [{"name": "graded", "passed": False, "message": grading.GRADER_UNAVAILABLE}]


def test_soft_time_limit_ends_in_timeout(submission, fake_grade):
    fake_grade(SoftTimeLimitExceeded())
    assert run(submission.pk).get() == "timeout"
    submission.refresh_from_db()
    assert submission.status == "timeout" and "longer than" in submission.feedback


def test_nul_characters_in_feedback_are_stored(submission, fake_grade):
    fake_grade(result("failed", 0.1, "learner printed \x00 here"))
    run(submission.pk)
    submission.refresh_from_db()
    assert "\x00" not in submission.checks[1]["message"] and "here" in submission.feedback


def test_task_options():
    task = grading.grade_submission
    assert task.acks_late is True
    assert task.soft_time_limit == limits.SOFT_TIME_LIMIT_SECONDS < task.time_limit == limits.HARD_TIME_LIMIT_SECONDS
    # The longest sandbox run an author may configure fits inside the soft limit, with room for start-up.
    assert limits.MAX_LIMITS["wall_seconds"] + 30 <= limits.SOFT_TIME_LIMIT_SECONDS
    assert limits.REAP_RUNNING_AFTER_SECONDS > limits.HARD_TIME_LIMIT_SECONDS


@pytest.mark.parametrize(("value", "expected"), [("cpu", "cpu"), ("cuda", "cuda"), ("CPU ", "cpu")])
def test_grading_device_from_environment(monkeypatch, value, expected):
    monkeypatch.setenv("GRADING_DEVICE", value)
    assert grading.grading_device() == expected


def test_grading_device_auto_follows_torch(monkeypatch):
    import torch

    monkeypatch.delenv("GRADING_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert grading.grading_device() == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert grading.grading_device() == "cpu"


class TestReaper:
    @pytest.fixture
    def dispatched(self, monkeypatch):
        sent: list[int] = []
        monkeypatch.setattr(services, "_dispatch", sent.append)
        return sent

    def test_leaves_live_work_alone(self, submission, dispatched):
        Submission.objects.filter(pk=submission.pk).update(status="running", started_at=timezone.now())
        assert grading.reap_submissions.apply().get() == {"requeued": [], "errored": []}

    def test_requeues_then_errors_abandoned_submissions(
        self, submission, dispatched, django_capture_on_commit_callbacks
    ):
        long_ago = timezone.now() - timedelta(seconds=limits.REAP_RUNNING_AFTER_SECONDS + 5)
        Submission.objects.filter(pk=submission.pk).update(status="running", started_at=long_ago, grading_runs=1)
        with django_capture_on_commit_callbacks(execute=True):
            assert services.submissions_reap() == {"requeued": [submission.pk], "errored": []}
        assert dispatched == [submission.pk]
        assert Submission.objects.get(pk=submission.pk).status == "queued"

        Submission.objects.filter(pk=submission.pk).update(
            status="running", started_at=long_ago, grading_runs=limits.MAX_GRADING_RUNS
        )
        assert services.submissions_reap() == {"requeued": [], "errored": [submission.pk]}
        submission.refresh_from_db()
        assert submission.status == "error" and submission.feedback == services.LOST_WORKER
        assert submission.finished_at is not None

    def test_errors_submissions_queued_far_too_long(self, submission, dispatched):
        old = timezone.now() - timedelta(seconds=limits.REAP_QUEUED_AFTER_SECONDS + 5)
        Submission.objects.filter(pk=submission.pk).update(created_at=old)
        assert services.submissions_reap() == {"requeued": [], "errored": [submission.pk]}
        submission.refresh_from_db()
        assert submission.status == "error" and submission.feedback == services.NEVER_PICKED_UP

    def test_final_submissions_are_never_touched(self, submission, dispatched):
        old = timezone.now() - timedelta(days=3)
        Submission.objects.filter(pk=submission.pk).update(status="passed", created_at=old, started_at=old)
        assert services.submissions_reap() == {"requeued": [], "errored": []}
        assert Submission.objects.get(pk=submission.pk).status == "passed"


def test_beat_schedules_the_reaper(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["reap-stuck-submissions"]
    assert schedule["task"] == grading.reap_submissions.name == "workers.reap_submissions"
    assert settings.CELERY_TASK_ROUTES[grading.grade_submission.name]["queue"] == settings.CELERY_GRADING_QUEUE
