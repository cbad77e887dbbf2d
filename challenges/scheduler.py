"""The fair order of grading work: which waiting submission or example run the next free grading slot takes.

The graders are the one resource every learner shares, and a queue that serves in arrival order lets one
learner (or twenty accounts of one) hold every slot. So a grading message is a claim on a *slot*, not on a
row: whichever message a worker takes, it grades the work this order puts first at that moment
(``services.grading_claim``). The order is round-robin across learners: the learner with the fewest gradings
running goes first, and among learners with as many running, the one served longest ago (whose latest grading
started earliest, or who has had none); within one learner, oldest first. Submissions and "Run on examples"
share it: both count as a learner's running gradings, and both wait in it.

The database is the scheduler. The order is computed from the rows themselves when a slot frees, under a lock
that lets one claim at a time (an advisory lock on PostgreSQL; SQLite's write transactions already run one at
a time), so it holds across any number of worker hosts, survives a broker flush (the mender sends the rows
new messages, ``challenges.dispatch``) and needs neither per-learner queues nor broker priorities. The same
order gives each learner's ``queue_position`` and the wait estimated from it
(``challenges.selectors.submission_progress``), so what the page says is what the graders will do.

Each queued row still holds the id of one message in the broker (``task_id``), as ``challenges.dispatch``
requires. When a message claims another learner's row, the two rows exchange message ids: the claimed row
runs under the claiming message's id (a redelivery of that message after a lost worker finds it), and the
row whose message was used takes the claimed row's message, which is still in the broker and will claim
again when it comes.
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection
from django.db.models import Max

from challenges.models import ExampleRun, Submission

SUBMISSION = "submission"
EXAMPLE_RUN = "example_run"

# Any number: the key of the PostgreSQL advisory lock that lets one claim run at a time.
_CLAIM_LOCK_KEY = 0x6C70_6772  # "lpgr"


@dataclass(frozen=True)
class Work:
    """A piece of grading work, waiting or running: what the order and the wait estimate need of it."""

    model: str  # SUBMISSION or EXAMPLE_RUN
    pk: int
    user_id: int
    challenge_id: int
    since: datetime  # waiting: when it joined the queue; running: when its grading started


def _work(submission_status: str, submission_since: str, run_status: str, run_since: str) -> list[Work]:
    submissions = Submission.objects.filter(status=submission_status).values_list(
        "pk", "user_id", "challenge_id", submission_since
    )
    runs = ExampleRun.objects.filter(status=run_status).values_list("pk", "user_id", "challenge_id", run_since)
    return [Work(SUBMISSION, *row) for row in submissions] + [Work(EXAMPLE_RUN, *row) for row in runs]


def waiting_work() -> list[Work]:
    """Every queued submission and example run (two queries, on the status indexes)."""
    return _work(Submission.Status.QUEUED, "queued_at", ExampleRun.Status.QUEUED, "created_at")


def running_work() -> list[Work]:
    """Every submission and example run a worker is grading now (two queries)."""
    return _work(Submission.Status.RUNNING, "started_at", ExampleRun.Status.RUNNING, "started_at")


def last_served(user_ids: set[int]) -> dict[int, datetime]:
    """When each of these learners' latest grading (or example run) started; absent if never (two queries)."""
    if not user_ids:
        return {}
    served: dict[int, datetime] = {}
    for model in (Submission, ExampleRun):
        rows = (
            model.objects.filter(user_id__in=user_ids, started_at__isnull=False)
            .values("user_id")
            .annotate(last=Max("started_at"))
            .values_list("user_id", "last")
        )
        for user_id, last in rows:
            served[user_id] = max(last, served.get(user_id, last))
    return served


def fair_order(waiting: list[Work], running: list[Work], served: dict[int, datetime]) -> list[Work]:
    """``waiting`` in the order free slots will take it, if nothing else arrives or finishes meanwhile.

    Each pick goes to the learner with the fewest gradings running (counting the picks already made); among
    those, to the learner served longest ago (``served``: when their latest grading started; never comes
    first), so that turns go round the learners even when one slot serves them all; a learner's own work goes
    oldest first. Ties end on the age of the work, its kind and id, so the order is the same every time.
    """
    running_per_learner = Counter(work.user_id for work in running)
    per_learner: dict[int, list[Work]] = {}
    for work in sorted(waiting, key=_age_key):
        per_learner.setdefault(work.user_id, []).append(work)
    # A learner's turn: (0, when last served) for those served before this order, (1, n) for the n-th pick here.
    heap = [
        (running_per_learner[user], (0, served.get(user, datetime.min.replace(tzinfo=UTC))), _age_key(items[0]), user)
        for user, items in per_learner.items()
    ]
    heapq.heapify(heap)
    nexts = {user: 0 for user in per_learner}
    order: list[Work] = []
    while heap:
        count, _, _, user = heapq.heappop(heap)
        items = per_learner[user]
        order.append(items[nexts[user]])
        nexts[user] += 1
        if nexts[user] < len(items):
            heapq.heappush(heap, (count + 1, (1, len(order)), _age_key(items[nexts[user]]), user))
    return order


def current_order() -> tuple[list[Work], list[Work]]:
    """The waiting work in its fair order now, and the running work it was ordered against (six queries)."""
    waiting, running = waiting_work(), running_work()
    return fair_order(waiting, running, last_served({work.user_id for work in waiting})), running


def _age_key(work: Work) -> tuple:
    return (work.since, work.model, work.pk)


def lock_for_claim() -> None:
    """Let one claim at a time choose from the order, until the current transaction ends.

    Without it two workers freed at once would both read the same learner as having nothing running and give
    that learner both slots. Claims are a few short queries, so serialising them costs nothing a grading
    would notice. SQLite's write transactions (``transaction_mode`` IMMEDIATE in the settings) are already
    one at a time; another database would need its own lock here.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CLAIM_LOCK_KEY])
