"""Per-run uids, leased so that two graders on one host never share one (or kill each other's processes).

When the worker is root, each sandbox run becomes a dedicated host uid from ``UID_RANGE``. A uid is leased
by holding an exclusive ``flock`` on ``<lock dir>/<uid>`` for the run's lifetime (the kernel drops the lock
when the holder dies, so a crashed grader leaks nothing), and only if no live process has it: a grader that
predates the lock files, or anything else using the range, is left alone. Every uid this process leased is
remembered, so its tests can judge exactly the sandboxes they started.
"""

from __future__ import annotations

import fcntl
import os
import secrets

# A block no distribution hands out to real users.
UID_RANGE = (0x30000, 0x30000 + 0xFFFF)
LOCK_DIR_ENV = "LEARNPATH_SANDBOX_LOCK_DIR"
DEFAULT_LOCK_DIR = "/run/learnpath-sandbox"
ATTEMPTS = 64

_leased: set[int] = set()


class UidUnavailable(RuntimeError):
    pass


def is_zombie(pid: str | int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def uid_processes(uid: int) -> list[int]:
    """Live (non-zombie) processes of ``uid``; a zombie runs nothing and holds no memory."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid == uid and not is_zombie(entry):
                pids.append(int(entry))
        except OSError:
            continue
    return pids


def leased_uids() -> frozenset[int]:
    """Every uid this process has leased so far."""
    return frozenset(_leased)


class UidLease:
    def __init__(self, lock_dir: str | None = None) -> None:
        directory = lock_dir or os.environ.get(LOCK_DIR_ENV) or DEFAULT_LOCK_DIR
        os.makedirs(directory, mode=0o700, exist_ok=True)
        for _ in range(ATTEMPTS):
            uid = UID_RANGE[0] + secrets.randbelow(UID_RANGE[1] - UID_RANGE[0])
            fd = os.open(os.path.join(directory, str(uid)), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            if uid_processes(uid):
                os.close(fd)
                continue
            self.uid, self._fd = uid, fd
            _leased.add(uid)
            return
        raise UidUnavailable(f"no free sandbox uid after {ATTEMPTS} attempts in {directory}")

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
