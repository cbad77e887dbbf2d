"""Reads about the workers: which of them have reported lately (their heartbeats, ``workers.heartbeat``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from workers.models import WorkerHeartbeat


def live_workers(
    *, queue: str | None = None, within_seconds: float | None = None, now: datetime | None = None
) -> list[WorkerHeartbeat]:
    """The workers that reported within ``within_seconds`` (default ``WORKER_LOST_AFTER_SECONDS``), only those
    consuming ``queue`` when it is given; one query, ordered by name.

    A worker that shut down cleanly has no row; one that died keeps its last row, which goes stale. A row's
    ``started_at`` is when that run of the worker started: later than a submission's start means the worker
    that claimed it has restarted since.
    """
    within = settings.WORKER_LOST_AFTER_SECONDS if within_seconds is None else within_seconds
    since = (now or timezone.now()) - timedelta(seconds=within)
    # Filtered on the queue here rather than in SQL: SQLite has no JSON containment lookup, and the workers are
    # a handful of rows.
    rows = WorkerHeartbeat.objects.filter(last_seen_at__gte=since)
    return [row for row in rows if queue is None or queue in row.queues]


def worker_heartbeats(*, name: str | None = None, host: str | None = None) -> list[WorkerHeartbeat]:
    """Heartbeat rows, fresh or stale: the worker named ``name``, or every worker on ``host`` (``…@host``)."""
    rows = WorkerHeartbeat.objects.all()
    if name is not None:
        rows = rows.filter(name=name)
    if host is not None:
        rows = rows.filter(name__endswith=f"@{host}")
    return list(rows)
