"""Reads for challenges. Each selector runs a fixed number of queries, whatever the number of submissions."""

from __future__ import annotations

import heapq
import math
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from challenges import scheduler
from challenges.dispatch import SEND_GRACE_SECONDS
from challenges.models import Challenge, ExampleRun, HintReveal, Submission

NOT_TRIED, ATTEMPTED, PASSED = "not_tried", "attempted", "passed"


@dataclass(frozen=True)
class ChallengeStanding:
    """One learner's standing on one challenge."""

    status: str  # not_tried | attempted | passed
    best_score: float | None
    attempts: int


NOT_TRIED_STANDING = ChallengeStanding(status=NOT_TRIED, best_score=None, attempts=0)


def challenge_list(*, path=None) -> QuerySet[Challenge]:
    challenges = Challenge.objects.filter(is_active=True).select_related("drop")
    if path is not None:
        challenges = challenges.filter(drop__path=path)
    return challenges


def challenge_get(*, slug: str) -> Challenge | None:
    return challenge_list().filter(slug=slug).first()


def challenge_standings(*, user: User, challenges=None) -> dict[int, ChallengeStanding]:
    """Standing keyed by challenge id, for every challenge the user has submitted to (one query)."""
    submissions = Submission.objects.filter(user=user)
    if challenges is not None:
        submissions = submissions.filter(challenge__in=challenges)
    rows = submissions.values("challenge_id").annotate(
        attempts=Count("pk"),
        best_score=Max("score"),
        passes=Count("pk", filter=Q(status=Submission.Status.PASSED)),
    )
    return {
        row["challenge_id"]: ChallengeStanding(
            status=PASSED if row["passes"] else ATTEMPTED, best_score=row["best_score"], attempts=row["attempts"]
        )
        for row in rows
    }


def challenge_standing(*, user: User, challenge: Challenge) -> ChallengeStanding:
    return challenge_standings(user=user, challenges=[challenge]).get(challenge.pk, NOT_TRIED_STANDING)


def challenge_progress(*, user: User, path=None) -> list[dict]:
    """Every active challenge (of ``path``, or of all paths) with the user's status, in two queries.

    Each item: slug, kind, title, drop_id, drop_title, drop_position, status ("not_tried" | "attempted" |
    "passed"), best_score (0..1 or None), attempts, url (the challenge page).
    """
    challenges = list(challenge_list(path=path))
    standings = challenge_standings(user=user, challenges=challenges)
    return [
        {
            "slug": challenge.slug,
            "kind": challenge.kind,
            "title": challenge.title,
            "drop_id": challenge.drop_id,
            "drop_title": challenge.drop.title if challenge.drop else None,
            "drop_position": challenge.drop.position if challenge.drop else None,
            "status": (standing := standings.get(challenge.pk, NOT_TRIED_STANDING)).status,
            "best_score": standing.best_score,
            "attempts": standing.attempts,
            "url": challenge.get_absolute_url(),
        }
        for challenge in challenges
    ]


def submission_get(*, user: User, submission_id: int) -> Submission | None:
    """The submission if ``user`` owns it; None for anyone else's (callers answer 404, never 403)."""
    return Submission.objects.select_related("challenge").filter(pk=submission_id, user=user).first()


def submission_history(*, user: User, challenge: Challenge) -> QuerySet[Submission]:
    return Submission.objects.filter(user=user, challenge=challenge).select_related("challenge")


def submission_latest(*, user: User, challenge: Challenge) -> Submission | None:
    return submission_history(user=user, challenge=challenge).first()


def hints_revealed(*, user: User, challenge: Challenge) -> list[str]:
    """The hints ``user`` has revealed so far, in order."""
    count = HintReveal.objects.filter(user=user, challenge=challenge).count()
    return list(challenge.hints[:count])


def solution_visible(*, user: User, challenge: Challenge) -> bool:
    return Submission.objects.filter(user=user, challenge=challenge, status=Submission.Status.PASSED).exists()


# --------------------------------------------------------------------------- grading progress

# The wait is estimated from gradings finished this recently (GRADING_ESTIMATE_WINDOW_MINUTES overrides it)...
DEFAULT_ESTIMATE_WINDOW_MINUTES = 15
# ...the most recent of them at most, so that the read stays small however busy the graders are.
ESTIMATE_SAMPLE = 200
# A challenge's typical grading time is the median of its last this many gradings, however old.
TYPICAL_SAMPLE = 50


@dataclass(frozen=True)
class GradingProgress:
    """Where one submission is in grading, for its owner. Numbers only: nothing about anyone else's work.

    ``queue_position`` (1 = next to be graded) and ``estimated_wait_seconds`` are set only while queued,
    the estimate only when there are recorded timings to make it from (``estimate_basis`` says which:
    "recent" gradings or the challenge's "typical" time). While running or checking, ``elapsed_seconds``
    is the time since this grading run started and ``typical_seconds`` the challenge's median grading
    time, when it has one.
    """

    phase: str
    queue_position: int | None = None
    estimated_wait_seconds: int | None = None
    estimate_basis: str | None = None
    elapsed_seconds: int | None = None
    typical_seconds: int | None = None
    # Queued, but its message has not reached the grading queue (the broker is down): it waits in the database.
    delayed: bool = False


DONE_PROGRESS = GradingProgress(phase=Submission.Phase.DONE)


@dataclass(frozen=True)
class RecentGradings:
    """Gradings finished in the estimate window: how long each challenge's took, and how many ran at once."""

    count: int
    median_seconds: float | None
    peak_concurrency: int
    # The median duration per (scheduler.SUBMISSION or scheduler.EXAMPLE_RUN, challenge id).
    per_challenge: dict[tuple[str, int], float] = field(default_factory=dict)


def _duration(started: datetime | None, finished: datetime | None) -> float | None:
    if started is None or finished is None or finished < started:
        return None
    return (finished - started).total_seconds()


def _peak_concurrency(intervals: list[tuple[datetime, datetime]]) -> int:
    """The most intervals open at one instant (one that ends as another starts does not overlap it)."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    peak = running = 0
    for _, change in events:  # at equal times the end (-1) sorts first
        running += change
        peak = max(peak, running)
    return peak


def _timed():
    # A regrade rewrites finished_at long after started_at; it is not queue work, so it is left out.
    return Submission.objects.filter(
        started_at__isnull=False, finished_at__isnull=False, regraded_at__isnull=True
    ).order_by("-finished_at")


# A pause longer than this between one grading's end and the next start on a worker is idle time, not the cost
# of handing over a slot.
HANDOVER_IDLE_SECONDS = 5.0


def _handover_seconds(rows: list[tuple[str, datetime, datetime]]) -> float:
    """The median pause between a grading's end and the next start on the same worker, while it stayed busy:
    acknowledging, taking the next message, claiming it, starting its sandbox. It is part of what a slot costs
    each grading, and for a quick loss check it is most of it."""
    pauses = []
    by_host: dict[str, list[tuple[datetime, datetime]]] = {}
    for host, started, finished in rows:
        by_host.setdefault(host, []).append((started, finished))
    for spans in by_host.values():
        spans.sort()
        for (_, finished), (started, _) in zip(spans, spans[1:], strict=False):
            pause = (started - finished).total_seconds()
            if 0 <= pause <= HANDOVER_IDLE_SECONDS:
                pauses.append(pause)
    return statistics.median(pauses) if pauses else 0.0


def gradings_recent(*, now: datetime | None = None) -> RecentGradings:
    """The gradings and example runs finished in the last few minutes, from their start and finish times.

    Two queries, each bounded to the latest ``ESTIMATE_SAMPLE`` rows. Each piece of work's duration includes
    the slot's hand-over to it (:func:`_handover_seconds`).
    """
    now = now or timezone.now()
    minutes = getattr(settings, "GRADING_ESTIMATE_WINDOW_MINUTES", DEFAULT_ESTIMATE_WINDOW_MINUTES)
    since = now - timedelta(minutes=minutes)
    fields = ("challenge_id", "worker_host", "started_at", "finished_at")
    submissions = _timed().filter(finished_at__gte=since).values_list(*fields)
    runs = (
        ExampleRun.objects.filter(started_at__isnull=False, finished_at__gte=since)
        .order_by("-finished_at")
        .values_list(*fields)
    )
    durations: dict[tuple[str, int], list[float]] = {}
    timed = []
    for model, rows in ((scheduler.SUBMISSION, submissions), (scheduler.EXAMPLE_RUN, runs)):
        for challenge_id, host, started, finished in rows[:ESTIMATE_SAMPLE]:
            if (seconds := _duration(started, finished)) is not None:
                durations.setdefault((model, challenge_id), []).append(seconds)
                timed.append((host, started, finished))
    handover = _handover_seconds(timed)
    every = [seconds for values in durations.values() for seconds in values]
    return RecentGradings(
        count=len(every),
        median_seconds=statistics.median(every) if every else None,
        peak_concurrency=_peak_concurrency([(started, finished) for _, started, finished in timed]),
        per_challenge={key: statistics.median(values) + handover for key, values in durations.items()},
    )


def challenge_typical_grading_seconds(*, challenge_id: int) -> float | None:
    """The median time its last gradings took, start to verdict; None before its first one (one query)."""
    rows = _timed().filter(challenge_id=challenge_id).values_list("started_at", "finished_at")[:TYPICAL_SAMPLE]
    durations = [d for started, finished in rows if (d := _duration(started, finished)) is not None]
    return statistics.median(durations) if durations else None


class _Durations:
    """How long a piece of work is expected to take: its challenge's recent gradings (of its own sort, then of
    submissions), else the challenge's typical grading time. Says whether any figure came from the typical."""

    def __init__(self, recent: RecentGradings, typical) -> None:
        self.recent = recent
        self.typical = typical
        self.used_typical = False

    def of(self, work: scheduler.Work) -> float | None:
        recent = self.recent.per_challenge
        seconds = recent.get((work.model, work.challenge_id)) or recent.get((scheduler.SUBMISSION, work.challenge_id))
        if seconds is None:
            seconds = self.typical(work.challenge_id)
            self.used_typical = self.used_typical or seconds is not None
        return seconds


def _estimated_verdicts(
    order: list[scheduler.Work], running: list[scheduler.Work], durations: _Durations, now: datetime
) -> dict[tuple[str, int], float | None]:
    """When each waiting piece of work should be done, in seconds from now, taking ``order`` slot by slot.

    The graders are as many as are running now, or as ran at once in the estimate window if more (the rest
    are idle, free now). Each running grading frees its slot when its challenge's usual time is up (at least
    a second from now); each waiting one then takes the first free slot for its own challenge's time. Work
    whose time is unknown makes its own estimate and every one behind it unknown: no made-up numbers.
    """
    slots: list[float] = []
    for work in running:
        seconds = durations.of(work)
        elapsed = _duration(work.since, now) or 0.0
        slots.append(max(1.0, (seconds if seconds is not None else elapsed) - elapsed))
    slots += [0.0] * max(0, max(1, durations.recent.peak_concurrency) - len(slots))
    heapq.heapify(slots)
    done: dict[tuple[str, int], float | None] = {}
    known = True
    for work in order:
        seconds = durations.of(work)
        known = known and seconds is not None
        end = heapq.heappop(slots) + (seconds or 0.0)
        done[(work.model, work.pk)] = end if known else None
        heapq.heappush(slots, end)
    return done


class _Typical:
    """Each challenge's typical grading time, read once per challenge."""

    def __init__(self) -> None:
        self.known: dict[int, float | None] = {}

    def __call__(self, challenge_id: int) -> float | None:
        if challenge_id not in self.known:
            self.known[challenge_id] = challenge_typical_grading_seconds(challenge_id=challenge_id)
        return self.known[challenge_id]


@dataclass(frozen=True)
class _Place:
    position: int
    wait: int | None
    basis: str | None


def _places(keys: list[tuple[str, int]], typical: _Typical, now: datetime) -> dict[tuple[str, int], _Place]:
    """The place in the fair order and the estimated wait until done of each queued piece of work in ``keys``.

    The position is its place in the order the next free graders follow (``challenges.scheduler``):
    round-robin across learners, so another learner's many submissions do not put it far back. The wait is
    simulated along that order from the running gradings and the recent durations of each piece of work's own
    challenge (a training check is not a loss check); with no recent grading of a challenge, its typical time
    stands in; with neither, there is no estimate (None). Eight queries for the order, two for recent gradings.
    """
    order, running = scheduler.current_order()
    positions = {(work.model, work.pk): place for place, work in enumerate(order, start=1)}
    durations = _Durations(gradings_recent(now=now), typical)
    done = _estimated_verdicts(order, running, durations, now)
    places = {}
    for key in keys:
        wait = _whole_seconds(done.get(key))
        places[key] = _Place(
            # Queued since the order was read: it is last for now.
            position=positions.get(key, len(positions) + 1),
            wait=wait,
            basis=None if wait is None else ("typical" if durations.used_typical else "recent"),
        )
    return places


def submission_progress(*, submissions: list[Submission], now: datetime | None = None) -> dict[int, GradingProgress]:
    """Phase, queue position and wait estimate (until the verdict) of each submission, keyed by id.

    Final submissions cost nothing. For those in flight: ten queries when any is queued (:func:`_places`),
    and one per challenge whose typical time is needed.
    """
    now = now or timezone.now()
    progress = {s.pk: DONE_PROGRESS for s in submissions if s.is_final}
    in_flight = [s for s in submissions if not s.is_final]
    if not in_flight:
        return progress
    typical = _Typical()
    queued = [s for s in in_flight if s.status == Submission.Status.QUEUED]
    unsent_since = now - timedelta(seconds=SEND_GRACE_SECONDS)
    places = _places([(scheduler.SUBMISSION, s.pk) for s in queued], typical, now) if queued else {}
    for submission in in_flight:
        if submission.status != Submission.Status.QUEUED:
            elapsed = _duration(submission.started_at, now)
            progress[submission.pk] = GradingProgress(
                phase=submission.phase,
                elapsed_seconds=None if elapsed is None else int(elapsed),
                typical_seconds=_whole_seconds(typical(submission.challenge_id)),
            )
            continue
        place = places[(scheduler.SUBMISSION, submission.pk)]
        progress[submission.pk] = GradingProgress(
            phase=submission.phase,
            queue_position=place.position,
            estimated_wait_seconds=place.wait,
            estimate_basis=place.basis,
            delayed=submission.dispatched_at is None and submission.queued_at < unsent_since,
        )
    return progress


@dataclass(frozen=True)
class ExampleRunProgress:
    """Where a queued example run is: its place in the same fair order as submissions, and the estimated wait
    until its results. Both None once it runs."""

    queue_position: int | None = None
    estimated_wait_seconds: int | None = None
    delayed: bool = False


def example_run_progress(run: ExampleRun, *, now: datetime | None = None) -> ExampleRunProgress:
    now = now or timezone.now()
    if run.status != ExampleRun.Status.QUEUED:
        return ExampleRunProgress()
    key = (scheduler.EXAMPLE_RUN, run.pk)
    place = _places([key], _Typical(), now)[key]
    return ExampleRunProgress(
        queue_position=place.position, estimated_wait_seconds=place.wait, delayed=example_run_delayed(run, now=now)
    )


def example_run_delayed(run: ExampleRun, *, now: datetime | None = None) -> bool:
    """Queued, but its message has not reached the grading queue (the broker is down): it waits in the database."""
    unsent_since = (now or timezone.now()) - timedelta(seconds=SEND_GRACE_SECONDS)
    return run.status == ExampleRun.Status.QUEUED and run.dispatched_at is None and run.created_at < unsent_since


def _whole_seconds(seconds: float | None) -> int | None:
    """Rounded up, and at least 1: "about 0 s" would promise what no grading does."""
    return None if seconds is None else max(1, math.ceil(seconds))


def example_run_get(*, user: User, run_id: int) -> ExampleRun | None:
    """One of the learner's own "Run on examples" runs; None for anyone else's."""
    return ExampleRun.objects.select_related("challenge").filter(user=user, pk=run_id).first()
