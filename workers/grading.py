"""Celery tasks that grade submissions and reap the ones whose worker disappeared.

``grade_submission`` is routed to the grading queue (``CELERY_GRADING_QUEUE``, "gpu" by default). It is
idempotent — it locks the row and grades only a queued submission — so it is safe with ``acks_late``: a
message redelivered after its worker died grades the submission again instead of losing it.
Infrastructure failures (no sandbox, database or broker down) are retried with backoff; a learner's
failing, crashing or looping code is a verdict, never a retry.
"""

from __future__ import annotations

import logging
import os
import socket

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import DatabaseError, InterfaceError, OperationalError
from kombu.exceptions import OperationalError as BrokerError

from challenges import limits, services
from challenges.grading import GradingInfrastructureError, grade
from challenges.models import Submission
from workers.sandbox import PrewarmedSandbox, SandboxUnavailable

logger = logging.getLogger(__name__)

RETRIED = (GradingInfrastructureError, OperationalError, InterfaceError, BrokerError)
MAX_RETRIES = 5
GRADER_UNAVAILABLE = (
    "The grader is unavailable right now, so your code was not run. "
    "This attempt is not counted against you; please submit again in a few minutes."
)
GRADING_TOO_SLOW = (
    "Grading took longer than {seconds} seconds and was stopped. Make sure your function returns "
    "promptly: no long loops or sleeps."
)


# One sandbox per worker process, started after each grading with torch already imported, so the next
# submission skips the interpreter and torch start-up (see docs/benchmarks.md). Each is used once.
_next_sandbox: PrewarmedSandbox | None = None


def _take_prewarmed(sandbox_limits, device: str) -> PrewarmedSandbox | None:
    global _next_sandbox
    box, _next_sandbox = _next_sandbox, None
    if box is not None and not box.is_usable(sandbox_limits, device):
        box.close()
        return None
    return box


def _prewarm(sandbox_limits, device: str) -> None:
    global _next_sandbox
    if os.environ.get("GRADING_PREWARM", "1").strip().lower() in ("0", "false", "no"):
        return
    try:
        _next_sandbox = PrewarmedSandbox(sandbox_limits, device)
    except SandboxUnavailable as exc:  # the next grading reports it, with retries
        logger.warning("could not pre-start a sandbox: %s", exc)
        _next_sandbox = None


def grading_device() -> str:
    """``GRADING_DEVICE``: "cuda", "cpu" or "auto" (the default: CUDA when this worker has a GPU)."""
    wanted = os.environ.get("GRADING_DEVICE", "auto").strip().lower() or "auto"
    if wanted in ("cpu", "cuda"):
        return wanted
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@shared_task(
    name="workers.grade_submission",
    bind=True,
    acks_late=True,
    soft_time_limit=limits.SOFT_TIME_LIMIT_SECONDS,
    time_limit=limits.HARD_TIME_LIMIT_SECONDS,
    max_retries=MAX_RETRIES,
    ignore_result=True,
)
def grade_submission(self, submission_id: int) -> str:
    device = grading_device()
    host = self.request.hostname or socket.gethostname()
    try:
        submission = services.submission_start(
            submission_id=submission_id, task_id=self.request.id or "", worker_host=host, device=device
        )
    except (OperationalError, InterfaceError) as exc:
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries))
    if submission is None:
        return "skipped"
    challenge = submission.challenge
    sandbox_limits = limits.sandbox_limits(challenge.limits)
    try:
        result = grade(
            challenge.slug,
            submission.code,
            device=device,
            limits=sandbox_limits,
            prewarmed=_take_prewarmed(sandbox_limits, device),
        )
        _prewarm(sandbox_limits, device)
        verdict = services.Verdict.from_grade(result)
        services.submission_record_verdict(submission_id=submission_id, verdict=verdict)
    except SoftTimeLimitExceeded:
        message = GRADING_TOO_SLOW.format(seconds=limits.SOFT_TIME_LIMIT_SECONDS)
        services.submission_finish(submission_id=submission_id, status=Submission.Status.TIMEOUT, message=message)
        return Submission.Status.TIMEOUT
    except RETRIED as exc:
        return _retry_or_give_up(self, submission_id, exc)
    except DatabaseError as exc:
        return _retry_or_give_up(self, submission_id, exc)
    logger.info("graded submission %s: %s on %s", submission_id, verdict.status, device)
    return verdict.status


def _retry_or_give_up(task, submission_id: int, exc: Exception) -> str:
    logger.warning("grading submission %s failed for an infrastructure reason: %r", submission_id, exc)
    if task.request.retries >= task.max_retries:
        try:
            services.submission_finish(
                submission_id=submission_id, status=Submission.Status.ERROR, message=GRADER_UNAVAILABLE
            )
        except DatabaseError:
            logger.exception("could not record the failure of submission %s; the reaper will", submission_id)
        return Submission.Status.ERROR
    try:
        services.submission_requeue(submission_id=submission_id)
    except DatabaseError:
        # The row stays running under this task id; the retry (same id) may claim it again.
        logger.warning("could not requeue submission %s before retrying", submission_id)
    raise task.retry(exc=exc, countdown=_backoff(task.request.retries))


def _backoff(retries: int) -> int:
    return min(5 * 2**retries, 300)


@shared_task(name="workers.reap_submissions", ignore_result=True)
def reap_submissions() -> dict[str, list[int]]:
    outcome = services.submissions_reap()
    if outcome["requeued"] or outcome["errored"]:
        logger.warning("reaped submissions: %s", outcome)
    return outcome
