"""Two graders on one host: a uid leased by one is never used, swept or judged by the other."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import torch

from tests.fixtures.sandbox import active_pool
from workers.sandbox import Case, Limits, run_cases
from workers.sandbox import uids as uid_module
from workers.sandbox.uids import UidLease, leased_uids, uid_processes

pytestmark = pytest.mark.sandbox

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="per-run uids are used only when the worker is root")


@needs_root
def test_a_uid_held_by_another_grader_is_skipped(tmp_path, monkeypatch):
    held = uid_module.UID_RANGE[0] + 7
    # The other grader: a separate process holding the lock on `held` and running a process as that uid.
    other = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
                import fcntl, os, sys, time
                fd = os.open({str(tmp_path / str(held))!r}, os.O_RDWR | os.O_CREAT, 0o600)
                fcntl.flock(fd, fcntl.LOCK_EX)
                pid = os.fork()
                if pid == 0:
                    os.setresuid({held}, {held}, {held})
                    # Said once the uid is taken: a loaded machine may run the parent long before the child.
                    print(os.getpid(), flush=True)
                    time.sleep(60)
                    os._exit(0)
                time.sleep(60)
            """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        sleeper = int(other.stdout.readline())
        proposals = iter([7, 7, 9])
        monkeypatch.setattr(uid_module.secrets, "randbelow", lambda n: next(proposals))
        lease = UidLease(lock_dir=str(tmp_path))
        assert lease.uid == uid_module.UID_RANGE[0] + 9
        lease.release()
        assert sleeper in uid_processes(held), "the other grader's process must be left alone"
    finally:
        other.kill()
        other.wait()
        subprocess.run(["pkill", "-KILL", "-u", str(held)], check=False)


@needs_root
def test_a_uid_with_a_foreign_process_is_skipped(tmp_path, monkeypatch):
    """A grader without lock files (an older version) still owns its uid while its processes live."""
    busy = uid_module.UID_RANGE[0] + 11
    child = subprocess.Popen(["sleep", "60"], preexec_fn=lambda: os.setresuid(busy, busy, busy))
    try:
        proposals = iter([11, 12])
        monkeypatch.setattr(uid_module.secrets, "randbelow", lambda n: next(proposals))
        lease = UidLease(lock_dir=str(tmp_path))
        assert lease.uid == uid_module.UID_RANGE[0] + 12
        lease.release()
    finally:
        child.kill()
        child.wait()


@needs_root
def test_every_run_is_leased_and_released():
    def run():
        return run_cases("def f(x):\n    return x * 2\n", entrypoint="f", cases=[Case({"x": torch.ones(2)})],
                         limits=Limits(cpu_seconds=10, wall_seconds=20), pool=active_pool())  # fmt: skip

    # A first run in this process also runs the sandbox's self-test (two more sandboxes, each with a uid): warm
    # up, so that the run below is the only one between the two readings.
    assert run().status == "ok"
    before = leased_uids()
    result = run()
    assert result.status == "ok"
    [uid] = leased_uids() - before
    assert uid_processes(uid) == []
    # Released: the lock can be taken again at once.
    import fcntl

    fd = os.open(
        os.path.join(os.environ.get(uid_module.LOCK_DIR_ENV) or uid_module.DEFAULT_LOCK_DIR, str(uid)), os.O_RDWR
    )
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)
