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
"""

from __future__ import annotations

import logging
import os
import threading

from workers.sandbox.limits import Limits

logger = logging.getLogger(__name__)

POOL_SIZE_ENV = "GRADING_POOL_SIZE"
DEFAULT_POOL_SIZE = 1
# A zygote is replaced after this many runs: cheap insurance against anything that would accumulate.
MAX_RUNS_PER_ZYGOTE = 1000


def pool_size() -> int:
    """``GRADING_POOL_SIZE``: zygotes kept per device in each worker process (0: every run starts cold)."""
    raw = os.environ.get(POOL_SIZE_ENV, str(DEFAULT_POOL_SIZE)).strip()
    try:
        return max(0, int(raw))
    except ValueError:
        logger.warning("%s=%r is not a number; using %d", POOL_SIZE_ENV, raw, DEFAULT_POOL_SIZE)
        return DEFAULT_POOL_SIZE


class SandboxPool:
    """What a grading worker keeps: warm zygotes per device, replaced when they die, recycled now and then."""

    def __init__(self, size: int | None = None) -> None:
        self.size = pool_size() if size is None else max(0, size)
        self._zygotes: dict[str, list] = {}  # device -> zygotes
        self._next = 0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.size > 0 and os.geteuid() == 0

    def zygotes(self, device: str = "cpu") -> list:
        """This device's zygotes (:class:`~workers.sandbox.forked.Zygote`), for operators and tests."""
        with self._lock:
            return list(self._zygotes.get(device, []))

    def warm(self, device: str = "cpu") -> None:
        """Start this device's zygotes now (they import torch in the background) so the first run finds them."""
        if not self.enabled:
            return
        with self._lock:
            zygotes = self._zygotes.setdefault(device, [])
            for zygote in [z for z in zygotes if not z.alive() or z.runs >= MAX_RUNS_PER_ZYGOTE]:
                zygotes.remove(zygote)
                zygote.close()
            while len(zygotes) < self.size:
                from workers.sandbox.forked import SandboxUnavailable, Zygote

                try:
                    zygotes.append(Zygote(device))
                except SandboxUnavailable as exc:
                    logger.warning("could not start a sandbox zygote: %s", exc)
                    return

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
        zygote.close()

    def close(self) -> None:
        with self._lock:
            zygotes = [z for group in self._zygotes.values() for z in group]
            self._zygotes = {}
        for zygote in zygotes:
            zygote.close()
