"""Sending grading work to the workers, with the database as the queue's source of truth.

A submission's (or example run's) row says what must happen to it; its task message is only a hint to do it
now. So sending a message never fails the request that stored the row: the row is committed first and holds
the id of the message meant for it (``task_id``), and ``dispatched_at`` is set once the broker has taken it.
A broker that is down leaves ``dispatched_at`` empty, and the learner's page says that grading is delayed.

:func:`dispatch_lost` (from the beat schedule, every ``GRADING_MEND_SECONDS``) finds the work whose message
never reached the broker, or whose message the broker no longer holds (flushed, failed over, restarted
without persistence): it reads the broker's queues and its unacknowledged messages, and sends a fresh
message for every queued row whose message is in neither. A message that is in fact still somewhere
(or a duplicate for any other reason) is harmless: a message claims only queued work (the fairest, by
``challenges.scheduler``), or its own row after a redelivery, so a second message never grades twice or
touches a final verdict. When a message claims another row than its own, the rows exchange message ids
(``services.grading_claim``), so every queued row still names a message the broker holds.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from challenges import limits
from challenges.models import ExampleRun, Submission

logger = logging.getLogger(__name__)

# A row committed this recently may still be on its way to the broker (its on_commit send is running).
SEND_GRACE_SECONDS = 10
# Sending a message while the broker is down gives up after one quick retry (a pooled connection that a
# broker restart closed): the row is stored and the mender sends it later, so the request need not wait.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0.2, "interval_step": 0.2, "interval_max": 0.2}
_SCAN_PAGE = 500


def new_task_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class _Work:
    """A kind of grading work: its model, its task and what its queued rows look like."""

    model: type
    task_name: str
    queued_status: str
    queued_since: str  # the field that says when the row last joined the queue

    def send(self, pk: int, task_id: str) -> bool:
        """Send one message for the row; True once the broker has it (and the row says so)."""
        from learnpath.celery_app import app

        budget = limits.slot_budget()
        try:
            # The queue is named at send time (the same as CELERY_TASK_ROUTES), so that it follows the settings;
            # the time limits are the longest any challenge has: the message claims whatever work is fairest when
            # a worker takes it (challenges.scheduler), and the task applies that challenge's own soft limit.
            app.send_task(
                self.task_name,
                args=(pk,),
                task_id=task_id,
                queue=settings.CELERY_GRADING_QUEUE,
                soft_time_limit=budget.soft_seconds,
                time_limit=budget.hard_seconds,
                retry_policy=PUBLISH_RETRY_POLICY,
            )
        except (BrokerError, OSError) as error:
            logger.warning("%s %s stored but not sent (%s): it is sent when the broker is back", self.label, pk, error)
            return False
        try:
            self.model.objects.filter(pk=pk, task_id=task_id, dispatched_at__isnull=True).update(
                dispatched_at=timezone.now()
            )
        except DatabaseError:  # the message is out; the mender finds it in the broker and leaves it be
            logger.warning("%s %s sent, but its dispatch time was not stored", self.label, pk, exc_info=True)
        return True

    @property
    def label(self) -> str:
        return self.model._meta.verbose_name


SUBMISSIONS = _Work(Submission, "challenges.grade_submission", Submission.Status.QUEUED, "queued_at")
EXAMPLE_RUNS = _Work(ExampleRun, "challenges.run_examples", ExampleRun.Status.QUEUED, "created_at")


def submission_send(submission: Submission) -> bool:
    """Send the message meant for a committed, queued submission (its ``task_id``)."""
    return SUBMISSIONS.send(submission.pk, submission.task_id)


def example_run_send(run: ExampleRun) -> bool:
    return EXAMPLE_RUNS.send(run.pk, run.task_id)


def broker_message_ids(queues: list[str]) -> set[str] | None:
    """The task ids of every message the broker holds for ``queues``: waiting, or delivered and not yet
    acknowledged. None when the transport cannot be read this way (then only unsent rows are mended)."""
    from learnpath.celery_app import app

    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1)
        channel = connection.default_channel
        transport = connection.transport_cls
        if transport in ("redis", "rediss"):
            return _redis_message_ids(channel, queues)
        if transport == "filesystem":
            return _filesystem_message_ids(channel, queues)
    return None


def _message_id(raw: bytes | str) -> str | None:
    try:
        message = json.loads(raw)
    except (TypeError, ValueError):
        return None
    if isinstance(message, list):  # an unacknowledged entry: [message, exchange, routing key]
        message = message[0] if message else {}
    if not isinstance(message, dict):
        return None
    headers = message.get("headers") or {}
    properties = message.get("properties") or {}
    return headers.get("id") or properties.get("correlation_id")


def _redis_message_ids(channel, queues: list[str]) -> set[str]:
    client = channel.client
    ids: set[str] = set()
    for queue in queues:
        for priority in channel.priority_steps:
            key = channel._q_for_pri(queue, priority)
            start = 0
            while True:
                page = client.lrange(key, start, start + _SCAN_PAGE - 1)
                ids.update(filter(None, map(_message_id, page)))
                if len(page) < _SCAN_PAGE:
                    break
                start += _SCAN_PAGE
    for _, raw in client.hscan_iter(channel.unacked_key, count=_SCAN_PAGE):
        ids.update(filter(None, [_message_id(raw)]))
    return ids


def _filesystem_message_ids(channel, queues: list[str]) -> set[str]:
    folder = Path(channel.data_folder_in)
    ids: set[str] = set()
    for queue in queues:
        for path in folder.glob(f"*.{queue}.msg"):
            try:
                ids.update(filter(None, [_message_id(path.read_bytes())]))
            except OSError:  # taken by a worker since the listing
                continue
    return ids


def dispatch_lost(*, now: datetime | None = None) -> dict[str, list[int]]:
    """Send a fresh message for each queued submission and example run whose message is lost or unsent.

    Returns the ids sent, per kind of work. Raises the broker's error when it is still down (nothing changes).
    """
    now = now or timezone.now()
    settled = now - timedelta(seconds=SEND_GRACE_SECONDS)
    outcome: dict[str, list[int]] = {"submissions": [], "example_runs": []}
    work = [(SUBMISSIONS, "submissions"), (EXAMPLE_RUNS, "example_runs")]
    candidates = {
        name: list(
            kind.model.objects.filter(status=kind.queued_status)
            .filter(
                Q(dispatched_at__isnull=True, **{f"{kind.queued_since}__lt": settled}) | Q(dispatched_at__lt=settled)
            )
            .order_by("pk")
        )
        for kind, name in work
    }
    if not any(candidates.values()):
        return outcome
    held = broker_message_ids([settings.CELERY_GRADING_QUEUE])
    for kind, name in work:
        for row in candidates[name]:
            if held is not None and row.task_id in held:
                continue  # waiting in the broker, or delivered and not yet acknowledged
            if held is None and row.dispatched_at is not None:
                continue  # this broker cannot be read: only what was never sent is sent
            # Always a new id: a second message under the old one would pass for a redelivery of the first.
            task_id = new_task_id()
            claimed = kind.model.objects.filter(pk=row.pk, status=kind.queued_status, task_id=row.task_id).update(
                task_id=task_id, dispatched_at=None
            )
            if claimed and kind.send(row.pk, task_id):
                outcome[name].append(row.pk)
    if outcome["submissions"] or outcome["example_runs"]:
        logger.warning("sent again the grading work whose message was lost or unsent: %s", outcome)
    return outcome
