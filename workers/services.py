"""Writes about the workers themselves: each worker's heartbeat row (``workers.heartbeat`` calls these)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from workers.models import WorkerHeartbeat


def worker_heartbeat_record(*, name: str, queues: list[str], pid: int, started_at: datetime) -> None:
    """Upsert the worker's row: one statement (INSERT … ON CONFLICT DO UPDATE), so that no beat needs a
    transaction or a lock beyond its own row, and a worker that restarted under the same name takes the row
    over with its new ``started_at``."""
    beat = WorkerHeartbeat(
        name=name, queues=sorted(queues), pid=pid, started_at=started_at, last_seen_at=timezone.now()
    )
    WorkerHeartbeat.objects.bulk_create(
        [beat],
        update_conflicts=True,
        unique_fields=["name"],
        update_fields=["queues", "pid", "started_at", "last_seen_at"],
    )


def worker_heartbeat_forget(*, name: str, started_at: datetime) -> int:
    """Delete the row of this run of the worker (a clean shutdown); returns how many rows went.

    Only this run's: a worker started again under the same name meanwhile owns the row now."""
    deleted, _ = WorkerHeartbeat.objects.filter(name=name, started_at=started_at).delete()
    return deleted


# A worker silent this long is gone for good (a host retired, a name changed): its row no longer says anything.
HEARTBEAT_KEPT_SECONDS = 24 * 60 * 60


def worker_heartbeats_prune(*, now: datetime | None = None) -> int:
    """Delete the rows of workers silent for a day; returns how many went."""
    since = (now or timezone.now()) - timedelta(seconds=HEARTBEAT_KEPT_SECONDS)
    deleted, _ = WorkerHeartbeat.objects.filter(last_seen_at__lt=since).delete()
    return deleted
