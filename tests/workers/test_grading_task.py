"""grade_submission and reap_submissions, run in-process with the grader replaced: lifecycle and retries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.db import OperationalError
from django.utils import timezone

from challenges import dispatch, limits, services, tasks
from challenges.kinds import grader
from challenges.kinds.grader import Check, GradingInfrastructureError, Verdict, grading_device
from challenges.models import Submission

pytestmark = pytest.mark.django_db


def result(status="failed", score=0.5, message="expected 1, got 2") -> Verdict:
    return Verdict(
        status=status,
        score=score,
        checks=[Check("runs", True, "ok"), Check("combined", status == "passed", message)],
        timings={"total_seconds": 1.5},
        device="cpu",
        feedback=f"feedback: {message}",
        mistakes=["KL direction swapped"] if status == "failed" else [],
        details={"kind": "distillation-loss", "cases": 2},
        grader_version="abc123",
    )


@pytest.fixture
def submission(learner, challenge):
    return Submission.objects.create(user=learner, challenge=challenge, code="def distillation_loss(): ...", attempt=1)


@pytest.fixture
def fake_grade(monkeypatch):
    calls = []

    # These tests are about the task's bookkeeping; they start no sandbox, pooled or cold.
    monkeypatch.setenv("GRADING_POOL_SIZE", "0")

    def install(*outcomes):
        def fake(target, code, *, device="cpu", seed=None, pool=None, on_phase=None):
            calls.append({"target": target, "device": device, "pool": pool})
            outcome = outcomes[min(len(calls), len(outcomes)) - 1]
            if isinstance(outcome, BaseException):
                raise outcome
            if on_phase is not None:  # as the grader does once the sandbox has returned outputs
                on_phase("checking")
            return outcome

        monkeypatch.setattr(grader, "grade", fake)
        return calls

    return install


def run(submission_id: int, task_id: str = "task-1"):
    return tasks.grade_submission.apply(args=(submission_id,), task_id=task_id)


def test_records_the_verdict(submission, fake_grade, monkeypatch):
    monkeypatch.setenv("GRADING_DEVICE", "cpu")
    calls = fake_grade(result("failed"))
    assert run(submission.pk).get() == "failed"
    submission.refresh_from_db()
    assert submission.status == "failed" and submission.score == 0.5
    assert submission.checks[1] == {
        "name": "combined",
        "passed": False,
        "message": "expected 1, got 2",
        "advisory": False,
    }
    assert submission.mistakes == ["KL direction swapped"] and submission.feedback.startswith("feedback")
    assert submission.device == "cpu" and submission.worker_host and submission.task_id == "task-1"
    assert submission.started_at <= submission.finished_at and submission.grading_runs == 1
    target = calls[0]["target"]
    assert (
        target.limits.wall_seconds == 40 and target.slug == "distillation-loss" and target.kind == "distillation-loss"
    )
    assert submission.details == {"kind": "distillation-loss", "cases": 2} and submission.grader_version == "abc123"
    assert submission.deadline_at > submission.started_at


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
    assert len(calls) == tasks.MAX_RETRIES + 1
    submission.refresh_from_db()
    assert submission.status == "error" and submission.feedback == tasks.GRADER_UNAVAILABLE
    assert submission.checks == [{"name": "graded", "passed": False, "message": tasks.GRADER_UNAVAILABLE}]


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


def test_task_options(settings):
    assert tasks.grade_submission.acks_late is True
    # The broker redelivers an unacknowledged task only after the longest hard limit of any challenge.
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 3600)
    assert visibility > limits.longest_hard_limit_seconds()


@pytest.mark.parametrize("kind", ["distillation-loss", "sequence-distillation-loss", "train-student"])
def test_time_budget_follows_the_challenge(kind):
    short = limits.task_budget(kind, limits.sandbox_limits(kind, {"wall_seconds": 10}))
    long = limits.task_budget(kind, limits.sandbox_limits(kind, {"wall_seconds": 90}))
    # The sandbox's own wall clock, a cold start and the kind's checks fit inside the soft limit.
    assert short.soft_seconds >= 10 + limits.SANDBOX_START_SECONDS
    assert long.soft_seconds - short.soft_seconds == 80
    assert short.soft_seconds < short.hard_seconds < short.reap_after_seconds


def test_messages_carry_the_longest_limits_and_the_claimed_challenge_its_own(
    learner, challenge, monkeypatch, fake_grade, django_capture_on_commit_callbacks
):
    """A message may claim any challenge's work (the fair order), so it carries the longest time limits any
    challenge has; once the work is claimed, its challenge's own soft limit ends a grading that overruns it."""
    import time

    from learnpath.celery_app import app

    sent = []
    monkeypatch.setattr(app, "send_task", lambda name, args, **options: sent.append((name, args, options)))
    with django_capture_on_commit_callbacks(execute=True):
        submission = services.submission_create(user=learner, challenge=challenge, code="def distillation_loss(): ...")
    [(name, args, options)] = sent
    assert (name, args) == (tasks.grade_submission.name, (submission.pk,))
    assert options["task_id"] == Submission.objects.get(pk=submission.pk).task_id
    longest = limits.slot_budget()
    assert (options["queue"], options["soft_time_limit"], options["time_limit"]) == (
        "gpu",
        longest.soft_seconds,
        longest.hard_seconds,
    )
    assert longest.hard_seconds == limits.longest_hard_limit_seconds()
    assert Submission.objects.get(pk=submission.pk).dispatched_at is not None

    # The challenge's own soft limit, here one second, applies inside the task.
    budget = limits.task_budget
    monkeypatch.setattr(
        limits,
        "task_budget",
        lambda kind, lim: limits.TaskBudget(1, 31) if kind == challenge.kind else budget(kind, lim),
    )
    fake_grade(result("passed", 1.0))
    original = grader.grade

    def slow(*args, **kwargs):
        time.sleep(5)
        return original(*args, **kwargs)

    monkeypatch.setattr(grader, "grade", slow)
    started = time.monotonic()
    assert run(submission.pk, options["task_id"]).get() == "timeout"
    assert time.monotonic() - started < 4
    submission.refresh_from_db()
    assert submission.status == "timeout" and "longer than 1 seconds" in submission.feedback


@pytest.mark.parametrize(("value", "expected"), [("cpu", "cpu"), ("cuda", "cuda"), ("CPU ", "cpu")])
def test_grading_device_from_environment(monkeypatch, value, expected):
    monkeypatch.setenv("GRADING_DEVICE", value)
    assert grading_device() == expected


def test_grading_device_auto_follows_torch(monkeypatch):
    import torch

    monkeypatch.delenv("GRADING_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert grading_device() == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert grading_device() == "cpu"


class TestReaper:
    @pytest.fixture
    def dispatched(self, monkeypatch):
        sent: list[int] = []
        monkeypatch.setattr(dispatch, "submission_send", lambda submission: sent.append(submission.pk))
        return sent

    def test_leaves_live_work_alone(self, submission, dispatched):
        now = timezone.now()
        Submission.objects.filter(pk=submission.pk).update(
            status="running", started_at=now, deadline_at=now + timedelta(seconds=60)
        )
        assert tasks.reap_submissions.apply().get() == {
            "requeued": [],
            "errored": [],
            "resent": [],
            "resent_example_runs": [],
        }

    def test_requeues_then_errors_abandoned_submissions(
        self, submission, dispatched, django_capture_on_commit_callbacks
    ):
        long_ago = timezone.now() - timedelta(seconds=5)
        Submission.objects.filter(pk=submission.pk).update(
            status="running", started_at=long_ago, deadline_at=long_ago, grading_runs=1
        )
        with django_capture_on_commit_callbacks(execute=True):
            assert services.submissions_reap() == {"requeued": [submission.pk], "errored": []}
        assert dispatched == [submission.pk]
        assert Submission.objects.get(pk=submission.pk).status == "queued"

        Submission.objects.filter(pk=submission.pk).update(
            status="running", started_at=long_ago, deadline_at=long_ago, grading_runs=limits.MAX_GRADING_RUNS
        )
        assert services.submissions_reap() == {"requeued": [], "errored": [submission.pk]}
        submission.refresh_from_db()
        assert submission.status == "error" and submission.feedback == services.LOST_WORKER
        assert submission.finished_at is not None

    def test_errors_submissions_queued_far_too_long(self, submission, dispatched):
        old = timezone.now() - timedelta(seconds=limits.REAP_QUEUED_AFTER_SECONDS + 5)
        # Its place in the queue dates from when it joined it (created or requeued), not from its creation.
        Submission.objects.filter(pk=submission.pk).update(created_at=old, queued_at=old)
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
    assert schedule["task"] == tasks.reap_submissions.name == "challenges.reap_submissions"
    assert settings.CELERY_TASK_ROUTES[tasks.grade_submission.name]["queue"] == settings.CELERY_GRADING_QUEUE
