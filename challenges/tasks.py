"""Celery tasks for challenges: grade one submission, and reap the ones whose worker disappeared.

``grade_submission`` is routed to the grading queue (``CELERY_GRADING_QUEUE``, "gpu" by default) and sent
with its challenge's own soft and hard time limits (``challenges.limits.task_budget``). It is idempotent
(the service claims only a queued submission, or its own after a redelivery), so it is safe with
``acks_late``: a message redelivered after its worker died grades the submission again instead of losing it.
Infrastructure failures (no sandbox, database or broker down) are retried with backoff; a learner's failing,
crashing or looping code is a verdict, never a retry.
"""

from __future__ import annotations

import logging
import socket

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_init, worker_process_shutdown, worker_ready
from django.db import DatabaseError, InterfaceError, OperationalError
from kombu.exceptions import OperationalError as BrokerError

from challenges import dispatch, services
from challenges.kinds.grader import GradingInfrastructureError, grading_device
from challenges.models import ExampleRun, Submission
from workers.sandbox.pool import SandboxPool

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

# Warm zygotes per worker process, each forking a fresh sandbox per submission (workers.sandbox.pool).
POOL = SandboxPool()


@worker_process_init.connect
def warm_sandbox_pool(**_kwargs) -> None:
    """Start this worker process's zygotes now, so that the first submission does not wait for torch."""
    POOL.warm(grading_device())


@worker_process_shutdown.connect
def close_sandbox_pool(**_kwargs) -> None:
    POOL.close()


@worker_ready.connect
def report_sandbox_support(**_kwargs) -> None:
    """Say at start-up what this host lacks for isolating learner code (docs/operations.md says how to fix it)."""
    from workers.sandbox import support_problems

    problems = support_problems()
    for problem in problems:
        logger.warning("sandbox: %s", problem)
    if not problems:
        logger.info("sandbox: bubblewrap, seccomp filter and per-run cgroups available")


@shared_task(
    name="challenges.grade_submission",
    bind=True,
    acks_late=True,
    # A worker process killed mid-grade (OOM, a crash) hands the message back at once, not after the
    # visibility timeout; services.submission_start grades it again at most limits.MAX_GRADING_RUNS times.
    reject_on_worker_lost=True,
    max_retries=MAX_RETRIES,
    ignore_result=True,
)
def grade_submission(self, submission_id: int) -> str:
    try:
        status = services.submission_grade(
            submission_id=submission_id,
            task_id=self.request.id or "",
            worker_host=self.request.hostname or socket.gethostname(),
            device=grading_device(),
            pool=POOL,
        )
    except SoftTimeLimitExceeded:
        soft = (self.request.timelimit or (None, None))[1]
        message = GRADING_TOO_SLOW.format(seconds=soft or "its time limit in")
        services.submission_finish(submission_id=submission_id, status=Submission.Status.TIMEOUT, message=message)
        return Submission.Status.TIMEOUT
    except (*RETRIED, DatabaseError) as exc:
        return _retry_or_give_up(self, submission_id, exc)
    logger.info("graded submission %s: %s", submission_id, status)
    return status


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


@shared_task(name="challenges.reap_submissions", ignore_result=True)
def reap_submissions() -> dict[str, list[int]]:
    """Mend grading: requeue what lost its worker, then send again what lost its message (or never got one)."""
    outcome = services.submissions_reap()
    if outcome["requeued"] or outcome["errored"]:
        logger.warning("reaped submissions: %s", outcome)
    from workers.services import worker_heartbeats_prune

    worker_heartbeats_prune()
    try:
        sent = dispatch.dispatch_lost()
    except (BrokerError, OSError) as error:  # still down: the rows wait, and the next run tries again
        logger.warning("could not mend lost grading messages yet: %s", error)
        sent = {"submissions": [], "example_runs": []}
    return {**outcome, "resent": sent["submissions"], "resent_example_runs": sent["example_runs"]}


@shared_task(name="challenges.run_examples", bind=True, max_retries=2, ignore_result=True)
def run_examples(self, run_id: int) -> str:
    """Run on examples: the learner's code on the kind's visible examples, through the same pool. No verdict."""
    try:
        return services.example_run_execute(
            run_id=run_id,
            task_id=self.request.id or "",
            device=grading_device(),
            worker_host=self.request.hostname or socket.gethostname(),
            pool=POOL,
        )
    except SoftTimeLimitExceeded:
        soft = (self.request.timelimit or (None, None))[1]
        message = services.EXAMPLES_TOO_SLOW.format(seconds=soft or "its time limit in")
        services.example_run_finish(run_id=run_id, status=ExampleRun.Status.TIMEOUT, message=message)
        return ExampleRun.Status.TIMEOUT
    except (*RETRIED, DatabaseError) as exc:
        logger.warning("running examples %s failed for an infrastructure reason: %r", run_id, exc)
        if self.request.retries >= self.max_retries:
            services.example_run_finish(
                run_id=run_id, status=ExampleRun.Status.ERROR, message=services.EXAMPLES_UNAVAILABLE
            )
            return ExampleRun.Status.ERROR
        services.example_run_requeue(run_id=run_id)
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
