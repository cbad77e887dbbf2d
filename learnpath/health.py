"""Readiness: whether this deployment can do its work now (``GET /api/ready/``).

Liveness (``/api/health/``) only says that the web process serves. Readiness asks each dependency for a real
answer: the database a query, the cache server a round trip, the broker a connection, and the workers' table
for a grading worker seen lately (``workers.heartbeat``). Each check runs in a thread of its own and is given
``CHECK_SECONDS``, all at once: a dependency that hangs (a host gone, packets dropped, a server that accepts and
never answers) costs the probe that long, never a hung request, and the check's thread ends by itself when
the client library's own timeout fires (the database's ``connect_timeout``, the cache's and the broker's
socket timeouts). A check's thread opens its own connections and closes them: a dependency that broke never
leaves a dead connection behind for the next request.

The endpoint is public, so a failure is described in an operator's words, without addresses or the driver's
message; the details go to the log, once when a check starts failing and once when it answers again.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

CHECK_SECONDS = 2.0
# What a 503 tells a client to wait before asking again: about how often an orchestrator probes.
RETRY_AFTER_SECONDS = 10


class DependencyUnavailable(Exception):
    """A dependency answered, but not as needed; the message is for the operator."""


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    ms: float
    error: str = ""

    def as_dict(self) -> dict:
        return {"ok": True, "ms": self.ms} if self.ok else {"ok": False, "ms": self.ms, "error": self.error}


def check_database() -> None:
    """A trivial query on a connection of this thread's own, closed afterwards."""
    from django.db import connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        _close_database_connection()


def cache_answers() -> bool:
    """Whether the cache server answers a real round trip now (never raises; see :func:`check_cache`)."""
    try:
        check_cache()
    except Exception:  # noqa: BLE001 - any failure means no
        return False
    return True


def check_cache() -> None:
    """A real round trip to the default cache.

    The Redis backend turns errors into misses for ordinary reads (``learnpath.redis_cache``), so a read would
    answer even with the server gone: its redis-py client is asked to PING instead, past that handling. Other
    backends store a probe key and read it back.
    """
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    backend = caches["default"]
    if isinstance(backend, RedisCache):
        backend._cache.get_client(write=True).ping()
        return
    key = f"learnpath:ready:{uuid.uuid4().hex}"
    backend.set(key, key, timeout=30)
    try:
        if backend.get(key) != key:
            raise DependencyUnavailable("the cache did not return what was just stored in it")
    finally:
        backend.delete(key)


# The filesystem broker's folders (kombu's transport options) and what each holds.
FILESYSTEM_BROKER_FOLDERS = {
    "data_folder_in": "its incoming messages",
    "data_folder_out": "its outgoing messages",
    "processed_folder": "its processed messages",
    "control_folder": "its control messages",
}


def check_broker() -> None:
    """A connection to the Celery broker, not retried; for the filesystem transport, its folders."""
    from learnpath.celery_app import app

    timeouts = {"socket_connect_timeout": CHECK_SECONDS, "socket_timeout": CHECK_SECONDS}
    with app.connection_for_write(connect_timeout=CHECK_SECONDS, transport_options=timeouts) as connection:
        if connection.transport.driver_type == "filesystem":
            _check_broker_folders(connection.transport_options)
            return
        connection.ensure_connection(max_retries=0)


def _check_broker_folders(options: dict) -> None:
    for option, holds in FILESYSTEM_BROKER_FOLDERS.items():
        folder = options.get(option)
        if folder and not (os.path.isdir(folder) and os.access(folder, os.R_OK | os.W_OK | os.X_OK)):
            logger.warning("readiness: the filesystem broker's %s %s is missing or not writable", option, folder)
            raise DependencyUnavailable(
                f"the filesystem broker's folder for {holds} ({option}) is missing or not writable"
            )


def check_workers() -> None:
    """A worker consuming the grading queue reported within ``READY_WORKER_WITHIN_SECONDS``."""
    from django.conf import settings

    from workers.selectors import live_workers

    queue = settings.CELERY_GRADING_QUEUE
    within = settings.READY_WORKER_WITHIN_SECONDS
    try:
        alive = live_workers(within_seconds=within)
    finally:
        _close_database_connection()
    if any(queue in worker.queues for worker in alive):
        return
    others = sorted({name for worker in alive for name in worker.queues})
    seen = f"; {len(alive)} other worker(s) did, consuming {', '.join(others)}" if alive else ""
    raise DependencyUnavailable(f"no worker consuming the {queue!r} queue has reported in the last {within} s{seen}")


@dataclass(frozen=True)
class Check:
    run: Callable[[], None]
    failure: str  # what an exception means, in an operator's words


CHECKS: dict[str, Check] = {
    "database": Check(check_database, "the database did not answer a query"),
    "cache": Check(check_cache, "the cache server did not answer"),
    "broker": Check(check_broker, "the Celery broker could not be reached"),
    "workers": Check(check_workers, "the workers' heartbeats could not be read from the database"),
}

_failing: set[str] = set()
_failing_lock = threading.Lock()
# The check of each name still running in this process, if any: one that hangs past its client library's
# timeouts is not joined by another at every probe, so a hung dependency never piles threads up.
_in_flight: dict[str, _CheckRun] = {}
_in_flight_lock = threading.Lock()


def readiness(*, seconds: float = CHECK_SECONDS) -> dict[str, CheckResult]:
    """Every check's result, in the order of ``CHECKS``; each is given ``seconds``, all of them at once."""
    started = time.monotonic()
    runs = {name: _start(name, check) for name, check in CHECKS.items()}
    deadline = started + seconds
    for run in runs.values():
        run.thread.join(max(0.0, deadline - time.monotonic()))
    results = {}
    for name, run in runs.items():
        result, error = run.result, run.error
        if result is None:
            waited = time.monotonic() - run.started  # longer than ``seconds`` for a run an earlier probe started
            error = TimeoutError(f"no answer within {max(waited, seconds):.0f} s")
            result = CheckResult(ok=False, ms=round(waited * 1000, 1), error=f"{run.check.failure}: {error}")
        results[name] = result
        _log_change(name, result, error)
    return results


def _start(name: str, check: Check) -> _CheckRun:
    """A new run of the check in its own thread, or the one still waiting for an answer."""
    with _in_flight_lock:
        running = _in_flight.get(name)
        if running is not None and running.thread.is_alive():
            return running
        run = _in_flight[name] = _CheckRun(check, started=time.monotonic())
        run.thread = threading.Thread(target=run.run, name=f"ready-{name}", daemon=True)
        run.thread.start()
        return run


@dataclass
class _CheckRun:
    check: Check
    started: float
    thread: threading.Thread | None = None
    result: CheckResult | None = None
    error: BaseException | None = None

    def run(self) -> None:
        started = time.monotonic()
        try:
            self.check.run()
        except DependencyUnavailable as error:
            self.error = error
            self.result = CheckResult(ok=False, ms=_ms_since(started), error=str(error))
        except Exception as error:  # noqa: BLE001 - every failure is this dependency's, and reported as such
            self.error = error
            message = f"{self.check.failure} ({type(error).__name__}; details in the web log)"
            self.result = CheckResult(ok=False, ms=_ms_since(started), error=message)
        else:
            self.result = CheckResult(ok=True, ms=_ms_since(started))


def _ms_since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def _log_change(name: str, result: CheckResult, error: BaseException | None) -> None:
    """Log a check that starts failing (with the details the response leaves out) and one that recovers."""
    with _failing_lock:
        was_failing = name in _failing
        if result.ok:
            _failing.discard(name)
        else:
            _failing.add(name)
    if result.ok and was_failing:
        logger.warning("readiness: %s answers again", name)
    elif not result.ok and not was_failing:
        logger.warning("readiness: %s failing: %s (%r)", name, result.error, error)


def _close_database_connection() -> None:
    from django.db import connection

    try:
        connection.close()
    except Exception:  # noqa: BLE001, S110 - a broken connection may fail to close; Django drops it all the same
        pass
