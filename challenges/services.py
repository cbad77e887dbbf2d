"""The one place that changes challenge state: submissions, their grading lifecycle, hints."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from challenges import dispatch, limits, scheduler
from challenges.kinds.grader import Verdict
from challenges.models import Challenge, ExampleRun, HintReveal, Submission
from learnpath.signals import learner_progress_changed

logger = logging.getLogger(__name__)

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


def _check_code_accepted(challenge: Challenge, code: str, *, retired: str) -> None:
    """Refuse code the sandbox should never see (too large, empty, NUL) and a retired challenge."""
    problem = code_problem(code)
    if problem:
        raise SubmissionRejected(problem, code="invalid")
    if not challenge.is_active:
        raise SubmissionRejected(retired, code="retired")


def _check_network_in_flight(client_network: str) -> None:
    """Refuse a grading when the client's network already has ``GRADING_IN_FLIGHT_PER_NETWORK`` submissions and
    example runs queued or running, across all its accounts (0 turns the cap off; an unknown network is not
    capped). Many accounts from one place must not take more than their share of the graders."""
    cap = getattr(settings, "GRADING_IN_FLIGHT_PER_NETWORK", 0)
    if not cap or not client_network:
        return
    submissions = Submission.objects.filter(
        client_network=client_network, status__in=[Submission.Status.QUEUED, Submission.Status.RUNNING]
    ).count()
    recent = timezone.now() - timedelta(seconds=EXAMPLE_RUN_STALE_SECONDS)
    example_runs = ExampleRun.objects.filter(
        client_network=client_network,
        status__in=[ExampleRun.Status.QUEUED, ExampleRun.Status.RUNNING],
        created_at__gte=recent,
    ).count()
    if submissions + example_runs >= cap:
        raise SubmissionRejected(
            f"{submissions + example_runs} gradings from your network (this and other accounts on the same "
            "connection) are already waiting or running, which is as many as one network may have at once. "
            "Try again when one of them has finished.",
            code="too_many_in_flight",
        )


@transaction.atomic
def submission_create(*, user: User, challenge: Challenge, code: str, client_network: str = "") -> Submission:
    """Store a new attempt and queue it for grading once the row is committed."""
    _check_code_accepted(challenge, code, retired="This challenge is retired and no longer accepts submissions.")
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
    _check_network_in_flight(client_network)
    last = Submission.objects.filter(user=user, challenge=challenge).aggregate(n=Max("attempt"))["n"] or 0
    submission = Submission.objects.create(
        user=user,
        challenge=challenge,
        code=code,
        attempt=last + 1,
        task_id=dispatch.new_task_id(),
        client_network=client_network,
    )
    # Sent once the row is committed; a broker that is down leaves it stored and queued (challenges.dispatch).
    transaction.on_commit(lambda: dispatch.submission_send(submission))
    return submission


@dataclass(frozen=True)
class Claimed:
    """The grading work one message claimed: a submission to grade, or an example run to run."""

    submission: Submission | None = None
    example_run: ExampleRun | None = None


@transaction.atomic
def grading_claim(*, task_id: str, worker_host: str, device: str) -> Claimed | None:
    """Claim grading work for the message ``task_id``; None when nothing is waiting.

    A message is a claim on a grading slot (``challenges.scheduler``). Delivered again after the worker that
    held it died, it takes back the submission it was grading (at most ``MAX_GRADING_RUNS`` gradings in all);
    an example run it was running ends in error, as the reaper would end it. Otherwise it takes the work the
    fair order puts first, whichever row it was sent for, and the two rows exchange message ids so that every
    queued row still holds a message the broker has.
    """
    scheduler.lock_for_claim()
    if task_id:
        again = Submission.objects.filter(status=Submission.Status.RUNNING, task_id=task_id).values_list(
            "pk", flat=True
        )
        for submission_id in again[:1]:
            submission = submission_start(
                submission_id=submission_id, task_id=task_id, worker_host=worker_host, device=device
            )
            if submission is not None:
                return Claimed(submission=submission)
        ExampleRun.objects.filter(status=ExampleRun.Status.RUNNING, task_id=task_id).update(
            status=ExampleRun.Status.ERROR, message=EXAMPLES_WORKER_LOST, finished_at=timezone.now()
        )
    order, _ = scheduler.current_order()
    for work in order[:1]:
        if work.model == scheduler.SUBMISSION:
            _message_hand_over(task_id, Submission.objects.filter(pk=work.pk))
            claimed = submission_start(submission_id=work.pk, task_id=task_id, worker_host=worker_host, device=device)
            return Claimed(submission=claimed) if claimed else None
        _message_hand_over(task_id, ExampleRun.objects.filter(pk=work.pk))
        run = _example_run_start(run_id=work.pk, task_id=task_id, worker_host=worker_host)
        return Claimed(example_run=run) if run else None
    return None


def _message_hand_over(task_id: str, claimed) -> None:
    """Give the queued row that holds message ``task_id`` the message of the row being claimed (``claimed``).

    The claimed row's message is still in the broker (or waits to be sent, which ``dispatched_at`` says): it
    now stands for the row whose message was used, and claims again when a worker takes it.
    """
    if not task_id:
        return
    row = claimed.values("task_id", "dispatched_at").first()
    if row is None or row["task_id"] == task_id:
        return
    for model, queued in ((Submission, Submission.Status.QUEUED), (ExampleRun, ExampleRun.Status.QUEUED)):
        model.objects.filter(status=queued, task_id=task_id).update(
            task_id=row["task_id"], dispatched_at=row["dispatched_at"]
        )


def submission_start(*, submission_id: int, task_id: str, worker_host: str, device: str) -> Submission | None:
    """Start grading one submission under message ``task_id``; None when there is nothing to do.

    A queued submission is started. A running one is started again only by the same task id: that is this
    task retrying after an infrastructure error, or the broker redelivering its message after the worker
    that held it died (``reject_on_worker_lost``, or Redis's visibility timeout, which is longer than any
    hard time limit, so the first worker cannot still be grading it). Like the reaper, a redelivery grades
    a submission at most ``MAX_GRADING_RUNS`` times in all: one that keeps killing its worker then ends in
    error instead of being handed from worker to worker for ever. A final one is never touched again.
    Workers reach it through :func:`grading_claim`, which picks the submission.
    """
    with transaction.atomic():
        submission = Submission.objects.select_for_update().select_related("challenge").filter(pk=submission_id).first()
        if submission is None:
            return None
        if submission.status == Submission.Status.RUNNING and submission.task_id == task_id and task_id:
            if submission.grading_runs >= limits.MAX_GRADING_RUNS:
                submission_finish(submission_id=submission_id, status=Submission.Status.ERROR, message=LOST_WORKER)
                return None
        elif submission.status != Submission.Status.QUEUED:
            return None
        now = timezone.now()
        submission.status = Submission.Status.RUNNING
        submission.task_id = task_id
        submission.worker_host = worker_host
        submission.device = device
        submission.started_at = now
        # The message may have been sent for any challenge: its time limits are the longest (limits.slot_budget).
        submission.deadline_at = now + timedelta(seconds=limits.slot_budget().reap_after_seconds)
        submission.checking_at = None
        submission.grading_runs += 1
        submission.save(
            update_fields=[
                "status", "task_id", "worker_host", "device", "started_at", "deadline_at", "checking_at",
                "grading_runs",
            ]
        )  # fmt: skip
        return submission


def submission_mark_checking(*, submission_id: int, task_id: str) -> None:
    """Record that this grading run's sandbox has returned and the trusted checks began: one UPDATE.

    Only the row this run holds is touched (still running, same task id). The phase is for the learner's
    page; failing to store it is logged, never raised, so that it cannot cost the verdict that follows.
    """
    try:
        Submission.objects.filter(pk=submission_id, status=Submission.Status.RUNNING, task_id=task_id).update(
            checking_at=timezone.now()
        )
    except DatabaseError:
        logger.warning("could not record that submission %s is being checked", submission_id, exc_info=True)


def submission_grade(*, submission: Submission, pool=None) -> str:
    """Grade a submission this worker claimed (:func:`grading_claim`) through its challenge's kind, and record
    the verdict. Returns the verdict's status.

    ``pool`` is the worker's :class:`workers.sandbox.pool.SandboxPool`, if it keeps one. Infrastructure errors
    propagate to the caller, which retries; nothing a learner's code does raises here.
    """
    from challenges.kinds.grader import grade

    target = submission.challenge.grading_target()

    def on_phase(phase: str) -> None:
        if phase == Submission.Phase.CHECKING:
            submission_mark_checking(submission_id=submission.pk, task_id=submission.task_id)

    verdict = grade(target, submission.code, device=submission.device, pool=pool, on_phase=on_phase)
    _record_verdict_patiently(submission_id=submission.pk, verdict=verdict)
    return verdict.status


# A verdict computed while the database restarts waits this long for it rather than being thrown away.
VERDICT_STORE_PATIENCE_SECONDS = 30


def _record_verdict_patiently(*, submission_id: int, verdict: Verdict) -> None:
    """Store the verdict, retrying while the database cannot be reached: grading again would cost far more."""
    deadline = time.monotonic() + VERDICT_STORE_PATIENCE_SECONDS
    pause = 0.5
    while True:
        try:
            submission_record_verdict(submission_id=submission_id, verdict=verdict)
            return
        except (OperationalError, InterfaceError) as error:
            if time.monotonic() + pause > deadline:
                raise
            logger.warning("verdict of submission %s waits for the database: %s", submission_id, error)
            connection.close()  # a broken connection is replaced by a fresh one on the next query
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


VERDICT_FIELDS = ("status", "score", "checks", "feedback", "mistakes", "details", "timings", "grader_version")


def _apply_verdict(submission: Submission, verdict: Verdict) -> list[str]:
    data = verdict.to_dict()
    for name in VERDICT_FIELDS:
        setattr(submission, name, data[name])
    submission.device = verdict.device or submission.device
    submission.finished_at = timezone.now()
    return [*VERDICT_FIELDS, "device", "finished_at"]


@transaction.atomic
def submission_record_verdict(*, submission_id: int, verdict: Verdict) -> Submission | None:
    """Store the grader's verdict on a running submission; a submission already final is left alone."""
    submission = Submission.objects.select_for_update().filter(pk=submission_id).first()
    if submission is None or submission.is_final:
        return submission
    submission.save(update_fields=_apply_verdict(submission, verdict))
    _after_verdict(submission)
    return submission


def _after_verdict(submission: Submission) -> None:
    """A passing verdict may be the last thing the learner needed for the path's certificate."""
    if submission.status == Submission.Status.PASSED:
        learner_progress_changed.send(
            sender=Submission, user_id=submission.user_id, challenge_id=submission.challenge_id
        )


@transaction.atomic
def submission_regrade(*, submission_id: int, verdict: Verdict) -> tuple[Submission, bool] | None:
    """Replace a final submission's verdict with a regrade's, keeping the old one in ``previous_verdicts``.

    Returns (submission, outcome_changed), or None when the submission is gone or not final. Nothing is
    dropped: the learner's page shows the earlier outcome when the regrade changed it.
    """
    submission = Submission.objects.select_for_update().filter(pk=submission_id).first()
    if submission is None or not submission.is_final:
        return None
    old = {name: getattr(submission, name) for name in VERDICT_FIELDS}
    old["finished_at"] = submission.finished_at.isoformat() if submission.finished_at else None
    changed = old["status"] != verdict.status
    submission.previous_verdicts = [*submission.previous_verdicts, old]
    submission.regraded_at = timezone.now()
    fields = _apply_verdict(submission, verdict)
    submission.save(update_fields=[*fields, "previous_verdicts", "regraded_at"])
    _after_verdict(submission)
    return submission, changed


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
    submission.queued_at = timezone.now()  # its retry joins the broker's queue at the back
    submission.started_at = None
    submission.deadline_at = None
    submission.save(update_fields=["status", "queued_at", "started_at", "deadline_at"])
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

    A running submission's worker is lost when it is past its deadline (the challenge's hard time limit plus
    a grace), or sooner when the worker's heartbeat says so (``workers.liveness``): it started again since
    the grading began, or it stopped beating and does not answer a ping. Such a submission is queued again
    (a fresh task) until it has been started ``MAX_GRADING_RUNS`` times, then it ends in error. Queued for
    far too long means no worker will come: it ends in error. Example runs whose worker is lost end in
    error (they are not attempts; the learner runs them again), as do those queued for far too long.
    """
    from workers.liveness import gradings_lost

    now = now or timezone.now()
    outcome: dict[str, list[int]] = {"requeued": [], "errored": []}
    stale_queued = now - timedelta(seconds=limits.REAP_QUEUED_AFTER_SECONDS)
    running = list(
        Submission.objects.filter(status=Submission.Status.RUNNING).values_list(
            "pk", "worker_host", "started_at", "deadline_at"
        )
    )
    lost = gradings_lost([(pk, host, started) for pk, host, started, _ in running], now=now)
    for submission_id, _, started_at, deadline_at in running:
        if not (submission_id in lost or (deadline_at is not None and deadline_at < now)):
            continue
        with transaction.atomic():
            # Still the same grading run (a worker may have finished it or claimed it again since the read).
            submission = (
                Submission.objects.select_for_update()
                .select_related("challenge")
                .filter(pk=submission_id, status=Submission.Status.RUNNING, started_at=started_at)
                .first()
            )
            if submission is None:
                continue
            if submission.grading_runs < limits.MAX_GRADING_RUNS:
                submission.status = Submission.Status.QUEUED
                submission.queued_at = now  # a fresh task, at the back of the broker's queue
                submission.started_at = None
                submission.deadline_at = None
                submission.task_id = dispatch.new_task_id()
                submission.dispatched_at = None
                submission.save(
                    update_fields=["status", "queued_at", "started_at", "deadline_at", "task_id", "dispatched_at"]
                )
                transaction.on_commit(lambda submission=submission: dispatch.submission_send(submission))
                outcome["requeued"].append(submission_id)
            else:
                submission_finish(submission_id=submission_id, status=Submission.Status.ERROR, message=LOST_WORKER)
                outcome["errored"].append(submission_id)
    queued = Submission.objects.filter(status=Submission.Status.QUEUED, queued_at__lt=stale_queued)
    for submission_id in queued.values_list("pk", flat=True):
        with transaction.atomic():
            locked = Submission.objects.select_for_update().filter(pk=submission_id, status=Submission.Status.QUEUED)
            if locked.exists():
                submission_finish(submission_id=submission_id, status=Submission.Status.ERROR, message=NEVER_PICKED_UP)
                outcome["errored"].append(submission_id)
    _example_runs_reap(now=now, stale_queued=stale_queued)
    return outcome


def _example_runs_reap(*, now: datetime, stale_queued: datetime) -> None:
    from workers.liveness import gradings_lost

    running = list(
        ExampleRun.objects.filter(status=ExampleRun.Status.RUNNING).values_list("pk", "worker_host", "started_at")
    )
    lost = gradings_lost(running, now=now)
    longest = timedelta(seconds=limits.longest_hard_limit_seconds() + limits.REAP_GRACE_SECONDS)
    overdue = {pk for pk, _, started in running if started is not None and started < now - longest}
    for pk, _, started_at in running:
        if pk in lost or pk in overdue:
            ExampleRun.objects.filter(pk=pk, status=ExampleRun.Status.RUNNING, started_at=started_at).update(
                status=ExampleRun.Status.ERROR, message=EXAMPLES_WORKER_LOST, finished_at=now
            )
    ExampleRun.objects.filter(status=ExampleRun.Status.QUEUED, created_at__lt=stale_queued).update(
        status=ExampleRun.Status.ERROR, message=EXAMPLES_UNAVAILABLE, finished_at=now
    )


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


# --------------------------------------------------------------------------- "Run on examples"

EXAMPLE_RUNS_KEPT = 5  # per learner and challenge; older runs are deleted when a new one is made
EXAMPLE_RUNS_IN_FLIGHT = 2
# A run not finished after this long no longer blocks a new one (its worker is gone or the queue is long).
EXAMPLE_RUN_STALE_SECONDS = 5 * 60
EXAMPLES_UNAVAILABLE = (
    "The grader is unavailable right now, so your code was not run on the examples. Try again in a few minutes."
)
EXAMPLES_TOO_SLOW = "Running on the examples took longer than {seconds} seconds and was stopped."
EXAMPLES_WORKER_LOST = (
    "The worker running your code on the examples stopped before it finished. Run it again in a moment."
)


@transaction.atomic
def example_run_create(*, user: User, challenge: Challenge, code: str, client_network: str = "") -> ExampleRun:
    """Queue the learner's code to run on the challenge's visible examples. Not an attempt: nothing is graded."""
    from challenges.kinds import kind_info

    _check_code_accepted(challenge, code, retired="This challenge is retired.")
    if not kind_info(challenge.kind).examples:
        raise SubmissionRejected(
            "This challenge has no examples to run on; submit to have it graded.", code="no_examples"
        )
    User.objects.select_for_update().filter(pk=user.pk).first()
    recent = timezone.now() - timedelta(seconds=EXAMPLE_RUN_STALE_SECONDS)
    in_flight = ExampleRun.objects.filter(
        user=user, status__in=[ExampleRun.Status.QUEUED, ExampleRun.Status.RUNNING], created_at__gte=recent
    ).count()
    if in_flight >= EXAMPLE_RUNS_IN_FLIGHT:
        raise SubmissionRejected(
            "Your code is already running on the examples; wait for that run to finish.", code="too_many_in_flight"
        )
    _check_network_in_flight(client_network)
    run = ExampleRun.objects.create(
        user=user, challenge=challenge, code=code, task_id=dispatch.new_task_id(), client_network=client_network
    )
    old = ExampleRun.objects.filter(user=user, challenge=challenge).values_list("pk", flat=True)[EXAMPLE_RUNS_KEPT:]
    ExampleRun.objects.filter(pk__in=list(old)).delete()
    # The same grading queue, sandbox pool and time limits as a submission of this challenge.
    transaction.on_commit(lambda: dispatch.example_run_send(run))
    return run


def _example_run_start(*, run_id: int, task_id: str, worker_host: str) -> ExampleRun | None:
    with transaction.atomic():
        run = ExampleRun.objects.select_for_update().select_related("challenge").filter(pk=run_id).first()
        if run is None or run.status != ExampleRun.Status.QUEUED:
            return None
        run.status = ExampleRun.Status.RUNNING
        run.task_id = task_id
        run.worker_host = worker_host
        run.started_at = timezone.now()
        run.save(update_fields=["status", "task_id", "worker_host", "started_at"])
        return run


def example_run_execute(*, run: ExampleRun, device: str, pool=None) -> str:
    """Run a run this worker claimed (:func:`grading_claim`) through the sandbox on the kind's examples, and
    store what came back. Returns the run's status. Infrastructure errors propagate (the task puts the run back
    in the queue and retries).
    """
    from challenges.kinds.examples import run_examples

    report = run_examples(run.challenge.grading_target(), run.code, device=device, pool=pool)
    with transaction.atomic():
        stored = ExampleRun.objects.select_for_update().filter(pk=run.pk).first()
        if stored is None or stored.is_final:
            return stored.status if stored else "skipped"
        stored.status = report.status
        stored.message = report.message
        stored.examples = report.examples
        stored.diagnosis = report.diagnosis
        stored.stdout = report.stdout
        stored.stderr = report.stderr
        stored.finished_at = timezone.now()
        stored.save(update_fields=["status", "message", "examples", "diagnosis", "stdout", "stderr", "finished_at"])
    return stored.status


def example_run_requeue(*, run_id: int) -> None:
    """Put a running run back in the queue: its worker gave it up for an infrastructure reason."""
    ExampleRun.objects.filter(pk=run_id, status=ExampleRun.Status.RUNNING).update(
        status=ExampleRun.Status.QUEUED, started_at=None
    )


def example_run_finish(*, run_id: int, status: str, message: str) -> None:
    """End a run that could not run normally (its time limit, the grader unavailable)."""
    ExampleRun.objects.filter(pk=run_id, status__in=[ExampleRun.Status.QUEUED, ExampleRun.Status.RUNNING]).update(
        status=status, message=message, finished_at=timezone.now()
    )
