"""Each Celery worker's heartbeat: its row in ``WorkerHeartbeat``, written by the worker's main process.

The row says which queues the worker consumes, its pid, when this run of it started and when it was last
seen. It is written at start-up and then every ``WORKER_HEARTBEAT_SECONDS`` (default 15) by a daemon thread
of the main process, which the pool's children, forked before it starts, do not have. ``/api/ready/`` needs a
grading worker seen within the last minute, ``manage.py worker_alive`` is a worker container's health check,
and the reaper takes a worker that stopped beating, or whose row started again later than a submission it
claimed, to have lost what it was running (``workers.selectors.live_workers``).

A beat never blocks or stops the worker: it runs in its own thread, and a database that is down or slow only
delays that thread. A failing beat is logged once per outage and tried again at the next interval, on a new
connection. A clean (warm) shutdown deletes the row once the gradings in hand have finished; a worker that
dies, or is shut down cold with tasks abandoned, leaves its row to go stale.

This module is imported by the Celery app in every process (``learnpath.celery_app``), so it imports nothing
from Django at the top: the Django parts load when a worker starts.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from datetime import datetime

from celery import bootsteps, signals

logger = logging.getLogger(__name__)

# A worker's exit waits at most this long for its last beat and the row's deletion.
STOP_WAIT_SECONDS = 5.0
MIN_INTERVAL_SECONDS = 0.1


class Heartbeat:
    """Writes one worker's row now and every ``interval`` seconds, from a daemon thread, until stopped."""

    def __init__(
        self, *, name: str, started_at: datetime, queues: Callable[[], list[str]], pid: int | None = None
    ) -> None:
        self.name = name
        self.started_at = started_at
        self.queues = queues
        self.pid = pid or os.getpid()
        self.interval = 0.0
        self._stopping = threading.Event()
        self._forget = False
        self._failing = False
        self._thread: threading.Thread | None = None

    def start(self, *, interval: float) -> None:
        self.interval = max(float(interval), MIN_INTERVAL_SECONDS)
        logger.info("worker heartbeat: %s every %g s", self.name, self.interval)
        self._thread = threading.Thread(target=self._run, name="worker-heartbeat", daemon=True)
        self._thread.start()

    def stop(self, *, forget: bool, timeout: float = STOP_WAIT_SECONDS) -> None:
        """Stop beating; with ``forget`` (a clean shutdown) the thread deletes the row as its last act.

        Waits at most ``timeout``: a beat stuck on a database that does not answer never holds up the exit.
        """
        thread = self._thread
        if thread is None or self._stopping.is_set():
            return
        self._forget = forget
        self._stopping.set()
        thread.join(timeout)
        if thread.is_alive():
            logger.warning("worker heartbeat: the database did not answer within %g s; exiting without it", timeout)

    def _run(self) -> None:
        while True:
            self.beat()
            if self._stopping.wait(self.interval):
                break
        if self._forget:
            self._forget_row()

    def beat(self) -> bool:
        """Write the row once; whether it was written. Never raises."""
        from workers.services import worker_heartbeat_record

        try:
            worker_heartbeat_record(name=self.name, queues=self.queues(), pid=self.pid, started_at=self.started_at)
        except Exception as error:  # noqa: BLE001 - whatever failed, the worker carries on and the next beat retries
            if not self._failing:
                logger.warning("worker heartbeat: not written, trying again every %g s: %r", self.interval, error)
            self._failing = True
            return False
        finally:
            _close_database_connection()
        if self._failing:
            logger.warning("worker heartbeat: written again")
            self._failing = False
        return True

    def _forget_row(self) -> None:
        from workers.services import worker_heartbeat_forget

        try:
            worker_heartbeat_forget(name=self.name, started_at=self.started_at)
            logger.info("worker heartbeat: %s stopped cleanly, row deleted", self.name)
        except Exception as error:  # noqa: BLE001 - the row is left to go stale, as a dead worker's does
            logger.warning("worker heartbeat: row not deleted at shutdown: %r", error)
        finally:
            _close_database_connection()


def _close_database_connection() -> None:
    """Close this thread's connection after each beat.

    A beat every few seconds does not need a connection held between beats: closing it means a connection
    that broke is never reused, the main process holds none idle against PostgreSQL's ``max_connections``,
    and a pool child forked between beats inherits none.
    """
    from django.db import connection

    try:
        connection.close()
    except Exception:  # noqa: BLE001, S110 - a broken connection may fail to close; Django drops it all the same
        pass


def consumed_queues(app) -> list[str]:
    """The queues the worker consumes now (``-Q``, and any added or cancelled by a control command since)."""
    return sorted(app.amqp.queues.consume_from)


class HeartbeatStep(bootsteps.StartStopStep):
    """The heartbeat as a step of the worker's blueprint: it runs in the worker's main process only.

    Started after the pool, so that the children are forked before the heartbeat thread exists.
    """

    label = "Heartbeat"
    requires = ("celery.worker.components:Pool",)

    def create(self, worker) -> Heartbeat:
        heartbeat = Heartbeat(
            name=worker.hostname, started_at=worker.startup_time, queues=lambda: consumed_queues(worker.app)
        )
        worker.learnpath_heartbeat = heartbeat
        return heartbeat

    def start(self, worker) -> None:
        from django.conf import settings

        self.obj.start(interval=settings.WORKER_HEARTBEAT_SECONDS)

    def stop(self, worker) -> None:
        # Keep beating: steps stop in reverse order, so the pool stops after this one, and a warm shutdown
        # waits there for the gradings in hand. The row goes once they are done (worker_shutdown, below).
        pass

    def terminate(self, worker) -> None:
        # A cold shutdown abandons the tasks in hand: the row stays and goes stale, as a dead worker's does.
        self.obj.stop(forget=False)


@signals.worker_shutdown.connect
def forget_heartbeat_after_clean_shutdown(sender=None, **_kwargs) -> None:
    """Sent by the main process once a warm shutdown has finished the tasks in hand."""
    heartbeat = getattr(sender, "learnpath_heartbeat", None)
    if heartbeat is not None:
        heartbeat.stop(forget=True)
