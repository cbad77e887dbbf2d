"""The fair order of grading work: which waiting submission or example run the next free grading slot takes.

The graders are the one resource every learner shares, and a queue that serves in arrival order lets one
learner (or twenty accounts of one) hold every slot. So a grading message is a claim on a *slot*, not on a
row: whichever message a worker takes, it grades the work this order puts first at that moment
(``services.grading_claim``). The order is round-robin across client networks, then across the learners of a
network: the network (then the learner) with the fewest gradings running goes first, and among those with as
many running, the one served longest ago (whose latest grading started earliest, or who has had none); within
one learner, oldest first. So one person's twenty accounts on one network take the turns of one learner, and
a learner whose network is unknown is a network of their own. Submissions and "Run on examples" share it:
both count as a learner's running gradings, and both wait in it.

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
    network: str = ""  # the client network it was sent from (IPv4 /24, IPv6 /64); empty if unknown

    @property
    def group(self) -> str:
        """Whom it takes turns as at the first level: its network, or the learner alone when that is unknown."""
        return self.network or f"learner:{self.user_id}"


def _work(submission_status: str, submission_since: str, run_status: str, run_since: str) -> list[Work]:
    fields = ("pk", "user_id", "challenge_id")
    submissions = Submission.objects.filter(status=submission_status).values_list(
        *fields, submission_since, "client_network"
    )
    runs = ExampleRun.objects.filter(status=run_status).values_list(*fields, run_since, "client_network")
    return [Work(SUBMISSION, *row) for row in submissions] + [Work(EXAMPLE_RUN, *row) for row in runs]


def waiting_work() -> list[Work]:
    """Every queued submission and example run (two queries, on the status indexes)."""
    return _work(Submission.Status.QUEUED, "queued_at", ExampleRun.Status.QUEUED, "created_at")


def running_work() -> list[Work]:
    """Every submission and example run a worker is grading now (two queries)."""
    return _work(Submission.Status.RUNNING, "started_at", ExampleRun.Status.RUNNING, "started_at")


NEVER = datetime.min.replace(tzinfo=UTC)


def _latest_start(column: str, values: set) -> dict:
    """When the latest grading (or example run) of each of ``values`` of ``column`` started (two queries)."""
    served: dict = {}
    if not values:
        return served
    for model in (Submission, ExampleRun):
        rows = (
            model.objects.filter(**{f"{column}__in": values}, started_at__isnull=False)
            .values(column)
            .annotate(last=Max("started_at"))
            .values_list(column, "last")
        )
        for value, last in rows:
            served[value] = max(last, served.get(value, last))
    return served


def last_served(waiting: list[Work]) -> dict[str, datetime]:
    """When each waiting learner, and each network work waits from, was last served: the start of its latest
    grading or example run; absent if never (four queries). Keys: ``learner:<id>`` and the networks."""
    learners = _latest_start("user_id", {work.user_id for work in waiting})
    served = {f"learner:{user_id}": last for user_id, last in learners.items()}
    served.update(_latest_start("client_network", {work.network for work in waiting if work.network}))
    return served


class _Turns:
    """Members taking turns: the one with the fewest running goes first; among those, the one served longest ago
    (before this order: when its latest grading started, never first; within it: the n-th pick); then the one
    whose next work is oldest."""

    def __init__(self, running: Counter, served: dict[str, datetime]) -> None:
        self.heap: list[tuple] = []
        self.running = running
        self.served = served

    def join(self, member, name: str, age: tuple) -> None:
        heapq.heappush(self.heap, (self.running[name], (0, self.served.get(name, NEVER)), age, name, member))

    def rejoin(self, count: int, pick: int, member, name: str, age: tuple) -> None:
        heapq.heappush(self.heap, (count + 1, (1, pick), age, name, member))

    def take(self):
        count, _, _, name, member = heapq.heappop(self.heap)
        return count, name, member

    def next_age(self) -> tuple:
        return self.heap[0][2]


def fair_order(waiting: list[Work], running: list[Work], served: dict[str, datetime]) -> list[Work]:
    """``waiting`` in the order free slots will take it, if nothing else arrives or finishes meanwhile.

    Turns go round at two levels: first the client networks (a learner whose network is unknown is a network
    of their own), then the learners of the chosen network, so that twenty accounts on one network take the
    turns of one. At each level the next turn goes to the one with the fewest gradings running (counting the
    picks already made), then to the one served longest ago (``served``, from :func:`last_served`; never comes
    first), then to the oldest work; a learner's own work goes oldest first. Ties end on the age of the work,
    its kind and id, so the order is the same every time it is computed.
    """
    learner_running = Counter(f"learner:{work.user_id}" for work in running)
    network_running = Counter(work.group for work in running)
    items: dict[tuple[str, int], list[Work]] = {}
    for work in sorted(waiting, key=_age_key):
        items.setdefault((work.group, work.user_id), []).append(work)
    learners: dict[str, _Turns] = {}
    for (group, user_id), queue in items.items():
        learners.setdefault(group, _Turns(learner_running, served)).join(
            (group, user_id), f"learner:{user_id}", _age_key(queue[0])
        )
    networks = _Turns(network_running, served)
    for group, turns in learners.items():
        networks.join(group, group, turns.next_age())
    taken = Counter()
    order: list[Work] = []
    while networks.heap:
        network_count, group, _ = networks.take()
        turns = learners[group]
        learner_count, name, key = turns.take()
        queue = items[key]
        order.append(queue[taken[key]])
        taken[key] += 1
        if taken[key] < len(queue):
            turns.rejoin(learner_count, len(order), key, name, _age_key(queue[taken[key]]))
        if turns.heap:
            networks.rejoin(network_count, len(order), group, group, turns.next_age())
    return order


def current_order() -> tuple[list[Work], list[Work]]:
    """The waiting work in its fair order now, and the running work it was ordered against (eight queries)."""
    waiting, running = waiting_work(), running_work()
    return fair_order(waiting, running, last_served(waiting)), running


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
