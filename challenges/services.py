"""The one place that changes challenge state: submissions, their grading lifecycle, hints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from challenges import limits
from challenges.models import Challenge, HintReveal, Submission

MAX_CODE_BYTES = 64 * 1024
DEFAULT_MAX_IN_FLIGHT = 3


class SubmissionRejected(Exception):
    """The submission is refused before it is stored; ``message`` says why, in the learner's terms."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


class NoHintsLeft(Exception):
    pass


def code_problem(code: str) -> str | None:
    """Why ``code`` cannot be submitted at all, or None."""
    size = len(code.encode("utf-8", errors="surrogatepass"))
    if size > MAX_CODE_BYTES:
        return f"Your code is {size:,} bytes; submissions are limited to {MAX_CODE_BYTES:,} bytes (64 KiB)."
    if not code.strip():
        return "Your code is empty."
    if "\x00" in code:
        return "Your code contains a NUL character."
    return None


@transaction.atomic
def submission_create(*, user: User, challenge: Challenge, code: str) -> Submission:
    """Store a new attempt and queue it for grading once the row is committed."""
    problem = code_problem(code)
    if problem:
        raise SubmissionRejected(problem, code="invalid")
    if not challenge.is_active:
        raise SubmissionRejected("This challenge is retired and no longer accepts submissions.", code="retired")
    # Lock the learner's row so that two concurrent requests cannot pick the same attempt number.
    User.objects.select_for_update().filter(pk=user.pk).first()
    max_in_flight = getattr(settings, "GRADING_MAX_IN_FLIGHT", DEFAULT_MAX_IN_FLIGHT)
    in_flight = Submission.objects.filter(
        user=user, status__in=[Submission.Status.QUEUED, Submission.Status.RUNNING]
    ).count()
    if in_flight >= max_in_flight:
        raise SubmissionRejected(
            f"You already have {in_flight} submissions waiting for a verdict; wait for one to finish.",
            code="too_many_in_flight",
        )
    last = Submission.objects.filter(user=user, challenge=challenge).aggregate(n=Max("attempt"))["n"] or 0
    submission = Submission.objects.create(user=user, challenge=challenge, code=code, attempt=last + 1)
    transaction.on_commit(lambda: _dispatch(submission.pk))
    return submission


def _dispatch(submission_id: int) -> None:
    from workers.grading import grade_submission

    # The queue is named at send time (the same as CELERY_TASK_ROUTES), so that it follows the settings.
    grade_submission.apply_async((submission_id,), queue=settings.CELERY_GRADING_QUEUE)


@transaction.atomic
def submission_start(*, submission_id: int, task_id: str, worker_host: str, device: str) -> Submission | None:
    """Claim a submission for grading; None when there is nothing to do (already graded, or being graded).

    A queued submission is claimed. A running one is claimed again only by the same task id: that is this
    task retrying after an infrastructure error, or the broker redelivering its message after the worker
    that held it died (Redis redelivers only after the visibility timeout, long past the hard time limit).
    """
    submission = Submission.objects.select_for_update().select_related("challenge").filter(pk=submission_id).first()
    if submission is None:
        return None
    if submission.status == Submission.Status.RUNNING and submission.task_id == task_id and task_id:
        pass
    elif submission.status != Submission.Status.QUEUED:
        return None
    submission.status = Submission.Status.RUNNING
    submission.task_id = task_id
    submission.worker_host = worker_host
    submission.device = device
    submission.started_at = timezone.now()
    submission.grading_runs += 1
    submission.save(update_fields=["status", "task_id", "worker_host", "device", "started_at", "grading_runs"])
    return submission


@dataclass(frozen=True)
class Verdict:
    status: str
    score: float
    checks: list[dict[str, Any]]
    feedback: str
    timings: dict[str, float]
    device: str
    mistakes: list[str]

    @classmethod
    def from_grade(cls, result) -> Verdict:
        data = result.to_dict()
        return cls(
            status=data["status"],
            score=float(data["score"]),
            checks=[
                {"name": _clean(c["name"]), "passed": bool(c["passed"]), "message": _clean(c["message"])}
                for c in data["checks"]
            ],
            feedback=_clean(data["feedback"]),
            timings={str(k): float(v) for k, v in (data.get("timings") or {}).items()},
            device=_clean(data["device"]),
            mistakes=[_clean(m) for m in data.get("mistakes") or []],
        )


def _clean(text: object) -> str:
    """Messages can quote learner output; PostgreSQL text and jsonb refuse NUL characters."""
    return str(text).replace("\x00", "\ufffd")


@transaction.atomic
def submission_record_verdict(*, submission_id: int, verdict: Verdict) -> Submission | None:
    """Store the grader's verdict on a running submission; a submission already final is left alone."""
    submission = Submission.objects.select_for_update().filter(pk=submission_id).first()
    if submission is None or submission.is_final:
        return submission
    submission.status = verdict.status
    submission.score = verdict.score
    submission.checks = verdict.checks
    submission.feedback = verdict.feedback
    submission.timings = verdict.timings
    submission.device = verdict.device or submission.device
    submission.mistakes = verdict.mistakes
    submission.finished_at = timezone.now()
    submission.save(
        update_fields=["status", "score", "checks", "feedback", "timings", "device", "mistakes", "finished_at"]
    )
    return submission


@transaction.atomic
def submission_finish(*, submission_id: int, status: str, message: str) -> Submission | None:
    """End a submission that could not be graded normally (time limit, lost worker, grader down)."""
    submission = Submission.objects.select_for_update().filter(pk=submission_id).first()
    if submission is None or submission.is_final:
        return submission
    submission.status = status
    submission.score = 0.0
    submission.checks = [{"name": "graded", "passed": False, "message": message}]
    submission.feedback = message
    submission.finished_at = timezone.now()
    submission.save(update_fields=["status", "score", "checks", "feedback", "finished_at"])
    return submission


@transaction.atomic
def submission_requeue(*, submission_id: int) -> Submission | None:
    """Put a running submission back in the queue (its worker gave it up for an infrastructure reason)."""
    submission = Submission.objects.select_for_update().filter(pk=submission_id).first()
    if submission is None or submission.status != Submission.Status.RUNNING:
        return submission
    submission.status = Submission.Status.QUEUED
    submission.started_at = None
    submission.save(update_fields=["status", "started_at"])
    return submission


LOST_WORKER = (
    "Grading was interrupted: the worker running your code stopped before it finished. "
    "This attempt is not counted against you; please submit again."
)
NEVER_PICKED_UP = (
    "No grading worker picked this submission up in time. "
    "This attempt is not counted against you; please submit again later."
)


def submissions_reap(*, now: datetime | None = None) -> dict[str, list[int]]:
    """Finish or requeue submissions nobody is grading any more; none may stay queued or running forever.

    Running past the task's hard time limit means the worker was killed or lost: the submission is queued
    again (a fresh task) until it has been started ``MAX_GRADING_RUNS`` times, then it ends in error. Queued
    for far too long means no worker will come: it ends in error.
    """
    now = now or timezone.now()
    outcome: dict[str, list[int]] = {"requeued": [], "errored": []}
    stale_running = now - timedelta(seconds=limits.REAP_RUNNING_AFTER_SECONDS)
    stale_queued = now - timedelta(seconds=limits.REAP_QUEUED_AFTER_SECONDS)
    running = Submission.objects.filter(status=Submission.Status.RUNNING, started_at__lt=stale_running)
    for submission_id in running.values_list("pk", flat=True):
        with transaction.atomic():
            submission = (
                Submission.objects.select_for_update()
                .filter(pk=submission_id, status=Submission.Status.RUNNING, started_at__lt=stale_running)
                .first()
            )
            if submission is None:
                continue
            if submission.grading_runs < limits.MAX_GRADING_RUNS:
                submission.status = Submission.Status.QUEUED
                submission.started_at = None
                submission.save(update_fields=["status", "started_at"])
                transaction.on_commit(lambda pk=submission_id: _dispatch(pk))
                outcome["requeued"].append(submission_id)
            else:
                submission_finish(submission_id=submission_id, status=Submission.Status.ERROR, message=LOST_WORKER)
                outcome["errored"].append(submission_id)
    queued = Submission.objects.filter(status=Submission.Status.QUEUED, created_at__lt=stale_queued)
    for submission_id in queued.values_list("pk", flat=True):
        with transaction.atomic():
            locked = Submission.objects.select_for_update().filter(pk=submission_id, status=Submission.Status.QUEUED)
            if locked.exists():
                submission_finish(submission_id=submission_id, status=Submission.Status.ERROR, message=NEVER_PICKED_UP)
                outcome["errored"].append(submission_id)
    return outcome


@transaction.atomic
def hint_reveal(*, user: User, challenge: Challenge) -> tuple[int, str]:
    """Reveal the learner's next hint and record it; returns (index, text). Raises NoHintsLeft."""
    User.objects.select_for_update().filter(pk=user.pk).first()
    index = HintReveal.objects.filter(user=user, challenge=challenge).count()
    if index >= len(challenge.hints):
        raise NoHintsLeft
    try:
        with transaction.atomic():
            HintReveal.objects.create(user=user, challenge=challenge, index=index)
    except IntegrityError:
        # A concurrent request revealed this one first: hand back the same hint rather than skip ahead.
        pass
    return index, challenge.hints[index]
