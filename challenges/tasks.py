"""Celery tasks for challenges: grade the fairest waiting work, and mend what lost its worker or its message.

``grade_submission`` and ``run_examples`` go to the grading queue (``CELERY_GRADING_QUEUE``, "gpu" by
default). Each message is a claim on a grading slot (``challenges.scheduler``): whichever a worker takes, it
grades the submission or example run that the fair order puts first at that moment, under the longest time
limits any challenge has (``challenges.limits.slot_budget``) and then that challenge's own soft limit. The
claim takes only queued work, or the message's own after a redelivery, so the tasks are safe with
``acks_late``: a message redelivered after its worker died grades again instead of losing the work.
Infrastructure failures (no sandbox, database or broker down) are retried with backoff; a learner's failing,
crashing or looping code is a verdict, never a retry.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
from contextlib import contextmanager

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_init, worker_process_shutdown, worker_ready
from django.db import DatabaseError, InterfaceError, OperationalError
from kombu.exceptions import OperationalError as BrokerError

from challenges import dispatch, limits, services
from challenges.kinds.grader import GradingInfrastructureError, grading_device
from challenges.models import ExampleRun, Submission
from workers.sandbox.pool import SandboxPool

logger = logging.getLogger(__name__)

RETRIED = (GradingInfrastructureError, OperationalError, InterfaceError, BrokerError)
MAX_RETRIES = 5
# An example run is not an attempt: after fewer infrastructure failures it ends, and the learner runs it again.
EXAMPLE_RUN_MAX_RETRIES = 2
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
    """Start this worker process's zygotes now, so that the first submission does not wait for torch, and run the
    hidden-data self-test of both paths (and torch's first-optimizer import) in the background, a few seconds,
    so that it does not wait for those either; a grading that comes sooner waits for the same test rather than
    starting another."""
    from workers.sandbox.selftest import verified_pool

    device = grading_device()
    POOL.warm(device)

    def self_test() -> None:
        # The first optimizer a process makes imports torch._dynamo (about 1.5 s): paid here, not by a grading.
        import torch._dynamo  # noqa: F401

        try:
            verified_pool(POOL, device)
        except Exception as error:  # noqa: BLE001 - logged here; every run checks again and refuses to grade
            logger.error("sandbox self-test at start-up: %s", error)

    threading.Thread(target=self_test, name="sandbox-self-test", daemon=True).start()


@worker_process_shutdown.connect
def close_sandbox_pool(**_kwargs) -> None:
    POOL.close()


@worker_ready.connect
def report_sandbox_support(**_kwargs) -> None:
    """Say at start-up what this host lacks for isolating learner code (docs/operations.md says how to fix it).

    That includes the hidden-data self-test of a cold sandbox on this worker's device: when it finds a hidden
    data file readable inside, every grading process refuses to grade (``workers.sandbox.selftest``, which
    also tests the pooled path before a process's first pooled run) until it is hidden.
    """
    from workers.sandbox import support_problems

    problems = support_problems(grading_device())
    for problem in problems:
        logger.warning("sandbox: %s", problem)
    if not problems:
        logger.info("sandbox: bubblewrap, seccomp filter and per-run cgroups available")


# Both task names run the same thing: a grading message is a claim on a grading slot, and it grades whatever
# work the fair order puts first when a worker takes it (challenges.scheduler). Two names remain so that the
# rows' messages say what they were sent for, and so that messages already queued keep working.
GRADING_TASK_OPTIONS = {
    "bind": True,
    # Acknowledged after the grading: a worker process killed mid-grade (OOM, a crash) hands the message back
    # at once (reject_on_worker_lost), not after the visibility timeout; services.grading_claim grades a
    # submission again at most limits.MAX_GRADING_RUNS times and ends an example run in error.
    "acks_late": True,
    "reject_on_worker_lost": True,
    "max_retries": MAX_RETRIES,
    "ignore_result": True,
}


@shared_task(name="challenges.grade_submission", **GRADING_TASK_OPTIONS)
def grade_submission(self, submission_id: int) -> str:
    """Grade the fairest waiting work; ``submission_id`` is the row the message was first sent for (a hint)."""
    return _grade_next(self)


@shared_task(name="challenges.run_examples", **GRADING_TASK_OPTIONS)
def run_examples(self, run_id: int) -> str:
    """The same as :func:`grade_submission`: "Run on examples" shares the grading slots and their fair order."""
    return _grade_next(self)


def _grade_next(task) -> str:
    """Claim the work the fair order puts first and grade (or run) it; "skipped" when nothing is waiting."""
    worker_host = task.request.hostname or socket.gethostname()
    try:
        claimed = services.grading_claim(
            task_id=task.request.id or "", worker_host=worker_host, device=grading_device()
        )
    except (*RETRIED, DatabaseError) as exc:  # nothing was claimed: the message is tried again later
        logger.warning("could not claim grading work: %r", exc)
        raise task.retry(exc=exc, countdown=_backoff(task.request.retries)) from exc
    if claimed is None:
        return "skipped"
    if claimed.submission is not None:
        return _grade(task, claimed.submission)
    return _run_examples(task, claimed.example_run)


@contextmanager
def _soft_limit(seconds: int):
    """Raise ``SoftTimeLimitExceeded`` in this task after ``seconds``, as Celery's own soft limit does.

    Every grading message carries the longest limits any challenge has (``limits.slot_budget``), because it
    may claim any challenge; once the claimed challenge is known, its own, shorter soft limit applies here.
    A signal timer reaches only the main thread, where a worker's (and an eager test's) task runs; elsewhere
    the message's own limit stands.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(_signum, _frame):
        raise SoftTimeLimitExceeded()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _challenge_soft_seconds(challenge) -> int:
    return limits.task_budget(challenge.kind, limits.sandbox_limits(challenge.kind, challenge.limits)).soft_seconds


def _grade(task, submission: Submission) -> str:
    soft = _challenge_soft_seconds(submission.challenge)
    try:
        with _soft_limit(soft):
            status = services.submission_grade(submission=submission, pool=POOL)
    except SoftTimeLimitExceeded:
        message = GRADING_TOO_SLOW.format(seconds=soft)
        services.submission_finish(submission_id=submission.pk, status=Submission.Status.TIMEOUT, message=message)
        return Submission.Status.TIMEOUT
    except (*RETRIED, DatabaseError) as exc:
        return _retry_or_give_up(task, submission.pk, exc)
    logger.info("graded submission %s: %s", submission.pk, status)
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


def _run_examples(task, run: ExampleRun) -> str:
    """Run on examples: the learner's code on the kind's visible examples, through the same pool. No verdict."""
    soft = _challenge_soft_seconds(run.challenge)
    try:
        with _soft_limit(soft):
            return services.example_run_execute(run=run, device=grading_device(), pool=POOL)
    except SoftTimeLimitExceeded:
        message = services.EXAMPLES_TOO_SLOW.format(seconds=soft)
        services.example_run_finish(run_id=run.pk, status=ExampleRun.Status.TIMEOUT, message=message)
        return ExampleRun.Status.TIMEOUT
    except (*RETRIED, DatabaseError) as exc:
        logger.warning("running examples %s failed for an infrastructure reason: %r", run.pk, exc)
        if task.request.retries >= EXAMPLE_RUN_MAX_RETRIES:
            services.example_run_finish(
                run_id=run.pk, status=ExampleRun.Status.ERROR, message=services.EXAMPLES_UNAVAILABLE
            )
            return ExampleRun.Status.ERROR
        services.example_run_requeue(run_id=run.pk)
        raise task.retry(exc=exc, countdown=_backoff(task.request.retries)) from exc


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
