"""The warm sandbox pool: zygotes that have imported torch fork one isolated sandbox per submission.

A cold sandbox spends about a second of CPU on a fresh interpreter and ``import torch`` before the
learner's code runs; a burst of submissions queues behind that second. A :class:`Zygote` is a sandbox
(bwrap, the same read-only tree, empty network) whose interpreter imported torch and the harness once and
then only forks. Each fork becomes a :class:`ForkedSandbox` that is exactly as fresh as a cold one: its
own leased uid, cgroup and rlimits, new mount/PID/IPC/network/UTS/cgroup namespaces with a fresh ``/proc``,
``/tmp`` and ``/dev/shm``, a new session keyring, the seccomp filter, and the zygote's pristine interpreter
state (no learner code ever ran there). See ``workers/sandbox/zygote.py`` for the in-sandbox half.

:class:`SandboxPool` is what a grading worker holds: ``GRADING_POOL_SIZE`` zygotes per device (default 1,
``0`` turns the pool off and every run starts cold). A zygote that dies or stops answering is discarded and
replaced, and the submission in hand runs on another zygote or cold: it never waits on a broken one. Pooled
runs need a root worker (the usual container set-up); otherwise every run starts cold.

A zygote is also *recycled*: after ``MAX_RUNS_PER_ZYGOTE`` runs, or once it is older than
``SANDBOX_ZYGOTE_MAX_AGE_SECONDS`` (an hour by default), so that no one zygote's address layout (every fork
shares it: ASLR is drawn once per zygote) and interpreter state serve a worker for its whole life. Its
replacement starts beside it, and the old one keeps serving until the new one has imported torch: no
submission waits for a recycle. Recycling happens when the pool is asked for a sandbox (a pick, before the
run), so an idle worker's old zygote is replaced on its next submission.
"""

from __future__ import annotations

import logging
import os
import select
import threading
import time

from workers.sandbox.limits import Limits

logger = logging.getLogger(__name__)

POOL_SIZE_ENV = "GRADING_POOL_SIZE"
DEFAULT_POOL_SIZE = 1
# A zygote is replaced after this many runs: cheap insurance against anything that would accumulate.
MAX_RUNS_PER_ZYGOTE = 1000
MAX_AGE_ENV = "SANDBOX_ZYGOTE_MAX_AGE_SECONDS"
DEFAULT_MAX_AGE_SECONDS = 3600.0


def pool_size() -> int:
    """``GRADING_POOL_SIZE``: zygotes kept per device in each worker process (0: every run starts cold)."""
    raw = os.environ.get(POOL_SIZE_ENV, str(DEFAULT_POOL_SIZE)).strip()
    try:
        return max(0, int(raw))
    except ValueError:
        logger.warning("%s=%r is not a number; using %d", POOL_SIZE_ENV, raw, DEFAULT_POOL_SIZE)
        return DEFAULT_POOL_SIZE


def zygote_max_age() -> float:
    """``SANDBOX_ZYGOTE_MAX_AGE_SECONDS``: a zygote older than this is replaced (0: only after its runs)."""
    raw = os.environ.get(MAX_AGE_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_AGE_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        logger.warning("%s=%r is not a number of seconds >= 0; using %g", MAX_AGE_ENV, raw, DEFAULT_MAX_AGE_SECONDS)
        return DEFAULT_MAX_AGE_SECONDS
    return value


class SandboxPool:
    """What a grading worker keeps: warm zygotes per device, replaced when they die, recycled now and then."""

    def __init__(self, size: int | None = None, max_age: float | None = None) -> None:
        self.size = pool_size() if size is None else max(0, size)
        self.max_age = zygote_max_age() if max_age is None else max(0.0, max_age)
        self._zygotes: dict[str, list] = {}  # device -> zygotes
        self._replacements: dict = {}  # a zygote due for recycling -> the one starting to take its place
        self._next = 0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.size > 0 and os.geteuid() == 0

    def zygotes(self, device: str = "cpu") -> list:
        """This device's zygotes (:class:`~workers.sandbox.forked.Zygote`), for operators and tests."""
        with self._lock:
            return list(self._zygotes.get(device, []))

    def due(self, zygote) -> bool:
        """Whether ``zygote`` has served long enough: its runs, or its age past ``max_age`` (when set)."""
        if zygote.runs >= MAX_RUNS_PER_ZYGOTE:
            return True
        return self.max_age > 0 and time.monotonic() - zygote.started >= self.max_age

    def warm(self, device: str = "cpu") -> None:
        """Start this device's zygotes now (they import torch in the background) so the first run finds them;
        replace dead ones, and recycle due ones (see the module docstring) without a run waiting for it."""
        if not self.enabled:
            return
        from workers.sandbox.forked import SandboxUnavailable, Zygote

        retired = []
        with self._lock:
            zygotes = self._zygotes.setdefault(device, [])
            for zygote in [z for z in zygotes if not z.alive()]:
                zygotes.remove(zygote)
                retired.append(zygote)
                if (replacement := self._replacements.pop(zygote, None)) is not None:
                    zygotes.append(replacement)  # takes the dead one's place at once, ready or not
            for old, new in list(self._replacements.items()):
                if old not in zygotes:
                    continue  # another device's
                if not new.alive():
                    del self._replacements[old]
                    retired.append(new)
                elif _ready_now(new):
                    del self._replacements[old]
                    zygotes[zygotes.index(old)] = new
                    retired.append(old)
            for zygote in zygotes:
                if zygote not in self._replacements and self.due(zygote):
                    try:
                        self._replacements[zygote] = Zygote(device)
                    except SandboxUnavailable as exc:
                        logger.warning("could not start a sandbox zygote to recycle one: %s", exc)
                        break
                    logger.info(
                        "recycling a sandbox zygote after %d runs and %.0f s",
                        zygote.runs,
                        time.monotonic() - zygote.started,
                    )
            while len(zygotes) < self.size:
                try:
                    zygotes.append(Zygote(device))
                except SandboxUnavailable as exc:
                    logger.warning("could not start a sandbox zygote: %s", exc)
                    break
        for zygote in retired:  # outside the lock: closing waits for the process to go
            zygote.close()

    def sandbox(self, limits: Limits, device: str):
        """A :class:`~workers.sandbox.forked.ForkedSandbox` for one run, or None when the pool cannot give one
        (the caller starts it cold)."""
        if not self.enabled:
            return None
        from workers.sandbox.forked import ZygoteFailed

        for _ in range(self.size + 1):
            zygote = self._pick(device)
            if zygote is None:
                return None
            try:
                return zygote.spawn(limits, device)
            except ZygoteFailed as exc:
                logger.warning("discarding a sandbox zygote: %s", exc)
                self._discard(device, zygote)
        return None

    def _pick(self, device: str):
        self.warm(device)
        with self._lock:
            zygotes = self._zygotes.get(device) or []
            if not zygotes:
                return None
            self._next = (self._next + 1) % len(zygotes)
            return zygotes[self._next]

    def _discard(self, device: str, zygote) -> None:
        with self._lock:
            zygotes = self._zygotes.get(device, [])
            if zygote in zygotes:
                zygotes.remove(zygote)
            if (replacement := self._replacements.pop(zygote, None)) is not None:
                zygotes.append(replacement)
        zygote.close()

    def close(self) -> None:
        with self._lock:
            zygotes = [z for group in self._zygotes.values() for z in group] + list(self._replacements.values())
            self._zygotes = {}
            self._replacements = {}
        for zygote in zygotes:
            zygote.close()


def _ready_now(zygote) -> bool:
    """Whether ``zygote`` has said READY, without waiting for it (a replacement importing torch is left to it)."""
    if zygote.ready:
        return True
    try:
        readable, _, _ = select.select([zygote.ctl], [], [], 0)
    except (OSError, ValueError):
        return False
    if not readable:
        return False
    from workers.sandbox.forked import ZygoteFailed

    try:
        zygote.wait_ready(timeout=1)  # its answer is there: READY, or the end of a zygote that failed
    except ZygoteFailed as exc:
        logger.warning("a replacement sandbox zygote did not start: %s", exc)
        return False
    return True
