"""Which gradings lost their worker, from the workers' heartbeats (``workers.heartbeat``) and a ping.

A worker killed outright (``kill -9``, a host that vanished) leaves its running gradings behind, and its
messages sit unacknowledged in the broker until the visibility timeout, an hour or more. Its heartbeat tells
sooner. A grading's worker is lost when

* the worker has started again since the grading began (its heartbeat's ``started_at`` is later): whatever
  it was doing before died with the old process; or
* its heartbeat is older than ``WORKER_LOST_AFTER_SECONDS`` and it does not answer a ping through the
  broker. Both are asked because either alone misleads: a database outage stops every heartbeat while the
  workers go on grading, and a broker outage stops the pings.

A worker with no heartbeat row (one that shut down cleanly, or predates heartbeats) is judged by its
gradings' deadlines alone, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings

logger = logging.getLogger(__name__)

PING_TIMEOUT_SECONDS = 1.0


def gradings_lost(running: Iterable[tuple[int, str, datetime | None]], *, now: datetime) -> set[int]:
    """Of ``(id, worker name, started_at)`` for gradings in progress, the ids whose worker is lost."""
    from workers.models import WorkerHeartbeat

    running = [(pk, host, started) for pk, host, started in running if host]
    if not running:
        return set()
    beats = {beat.name: beat for beat in WorkerHeartbeat.objects.filter(name__in={host for _, host, _ in running})}
    lost = {
        pk
        for pk, host, started in running
        if host in beats and started is not None and beats[host].started_at > started
    }
    silent_after = now - timedelta(seconds=settings.WORKER_LOST_AFTER_SECONDS)
    silent = {name for name, beat in beats.items() if beat.last_seen_at < silent_after}
    if silent:
        silent -= _answering(silent)
    lost |= {pk for pk, host, _ in running if host in silent}
    if lost:
        logger.warning("gradings whose worker is lost: %s (silent workers: %s)", sorted(lost), sorted(silent))
    return lost


def _answering(names: set[str]) -> set[str]:
    """The workers among ``names`` that answer a ping now; all of them when the broker cannot be asked."""
    from learnpath.celery_app import app

    try:
        replies = app.control.ping(destination=sorted(names), timeout=PING_TIMEOUT_SECONDS) or []
    except Exception as error:  # noqa: BLE001 - no answer to be had: call nobody lost on a silence we cannot check
        logger.warning("could not ping workers %s: %s", sorted(names), error)
        return set(names)
    return {name for reply in replies for name in reply}
