"""The warm pool: each submission forked from a zygote is as fresh as a cold sandbox, and a broken zygote
never costs a submission more than a replacement.

The isolation tests run two submissions one after the other on one zygote: the first leaves behind
everything it can (processes, files, threads, environment, module state, IPC objects, sockets), the second
looks for it. Tests that break a zygote use a pool of their own.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from types import SimpleNamespace

import pytest
import torch

from workers.sandbox import Case, Limits, SandboxPool, SandboxUnavailable, run_cases
from workers.sandbox import forked as forked_module
from workers.sandbox import pool as pool_module
from workers.sandbox.uids import leased_uids, uid_processes

pytestmark = [pytest.mark.sandbox, pytest.mark.skipif(os.geteuid() != 0, reason="pooled runs need a root worker")]

LIMITS = Limits(cpu_seconds=10, wall_seconds=15)


@pytest.fixture
def pool():
    pool = SandboxPool(size=1)
    yield pool
    pool.close()


def run(pool, body: str, *, limits: Limits = LIMITS):
    indented = "\n".join("    " + line for line in body.strip("\n").splitlines())
    code = f"import os, sys, time, torch\ndef f(x):\n{indented}\n"
    return run_cases(code, entrypoint="f", cases=[Case({"x": torch.ones(2)})], limits=limits, pool=pool)


def printed(result) -> str:
    assert result.status == "ok", (result.status, result.message, result.stderr_tail)
    assert result.cases[0].ok, result.cases[0].error
    return result.stdout_tail


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (the zygote's interpreter is bwrap's grandchild)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    parents[int(entry)] = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        children = [p for p, parent in parents.items() if parent == current]
        found += children
        frontier += children
    return found


def zygote_interpreter(pool) -> int:
    [zygote] = pool.zygotes("cpu")
    zygote.wait_ready()
    for pid in descendants(zygote.proc.pid):
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = fh.read().split(b"\0")
        # Not bwrap or its init (whose command lines name the zygote too): the interpreter itself.
        if argv[0].startswith(b"/opt/python/bin/python") and b"/opt/zygote.py" in argv:
            return pid
    raise AssertionError("no zygote interpreter found")


def test_runs_are_forked_from_the_zygote_with_their_own_uid(pool):
    first = run(pool, "print(os.getuid())\nreturn x * 2")
    second = run(pool, "print(os.getuid())\nreturn x * 2")
    assert first.pooled and second.pooled
    assert printed(first).strip() != printed(second).strip()
    assert first.cases[0].result.tolist() == [2.0, 2.0]


def test_an_earlier_runs_processes_are_gone_and_invisible(pool):
    daemon = """
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(300)
    os._exit(0)
time.sleep(0.2)
return x
"""
    assert run(pool, daemon).status == "ok"
    later = printed(run(pool, "print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))\nreturn x"))
    # Only the run's own init (1) and harness (2) exist in its PID namespace; nothing of the daemon.
    assert later.strip() == "[1, 2]"


def test_an_earlier_runs_files_are_gone(pool):
    plant = """
written = []
for top in ("/tmp", "/dev/shm", "/dev", "/", "/opt", "/etc", "/proc/self"):
    try:
        with open(os.path.join(top, "planted-by-run-1"), "w") as fh:
            fh.write("x")
        written.append(top)
    except OSError:
        pass
print(written)
return x
"""
    wrote = printed(run(pool, plant))
    assert "/tmp" in wrote
    look = """
print([top for top in ("/tmp", "/dev/shm", "/dev", "/", "/opt", "/etc") if os.path.exists(top + "/planted-by-run-1")])
print(os.listdir('/tmp'))
return x
"""
    out = printed(run(pool, look)).splitlines()
    assert out[0] == "[]"
    assert out[1] == "['solution.py']"


def test_threads_environment_and_module_state_do_not_carry_over(pool):
    meddle = """
import threading, builtins, torch.nn.functional as F
threading.Thread(target=time.sleep, args=(300,), daemon=True).start()
os.environ["PLANTED"] = "1"
builtins.PLANTED = True
F.kl_div = lambda *a, **k: torch.tensor(0.0)
torch.Tensor.sum = lambda self, *a, **k: torch.tensor(42.0)
sys.modules["planted_module"] = sys
return x
"""
    assert run(pool, meddle).status == "ok"
    look = """
import threading, builtins, torch.nn.functional as F
print(threading.active_count(), len(os.listdir('/proc/self/task')))
print('PLANTED' in os.environ, hasattr(builtins, 'PLANTED'), 'planted_module' in sys.modules)
print(float(F.kl_div(torch.zeros(2), torch.full((2,), 0.5), reduction='sum')), float(torch.ones(3).sum()))
return x
"""
    threads, planted, maths = printed(run(pool, look)).splitlines()
    assert threads == "1 1"
    assert planted == "False False False"
    assert maths.split()[1] == "3.0" and maths.split()[0] != "0.0"


def test_ipc_objects_and_sockets_do_not_carry_over(pool):
    plant = """
import ctypes, socket
libc = ctypes.CDLL(None, use_errno=True)
print(libc.shmget(0x4C50, 4096, 0o1666))  # IPC_CREAT | 0666: a SysV segment that outlives its process
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind("\\0learnpath-planted")
s.listen()
if os.fork() == 0:
    os.setsid()
    time.sleep(300)
return x
"""
    assert int(printed(run(pool, plant)).strip()) >= 0
    look = """
import ctypes, socket
libc = ctypes.CDLL(None, use_errno=True)
print(libc.shmget(0x4C50, 4096, 0o666), ctypes.get_errno())
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect("\\0learnpath-planted")
    print("connected")
except OSError as exc:
    print("refused", exc.errno)
return x
"""
    shm, sock = printed(run(pool, look)).splitlines()
    assert shm.split()[0] == "-1"  # ENOENT: the segment died with the first run's IPC namespace
    assert sock.startswith("refused")


def test_a_run_holds_no_capability_no_socket_of_the_pool_and_is_filtered(pool):
    look = """
status = dict(line.split(":", 1) for line in open('/proc/self/status').read().splitlines() if ":" in line)
print(status["CapEff"].strip(), status["CapPrm"].strip(), status["NoNewPrivs"].strip(), status["Seccomp"].strip())
kinds = []
for fd in os.listdir('/proc/self/fd'):
    try:
        kinds.append(os.readlink(f"/proc/self/fd/{fd}").split(":")[0])
    except OSError:  # the descriptor listdir itself used
        pass
print(sorted(kinds))
print(open('/proc/self/cgroup').read().strip().splitlines()[0].rsplit(':', 1)[1])
return x
"""
    caps, fds, cgroup = printed(run(pool, look)).splitlines()
    assert caps == "0000000000000000 0000000000000000 1 2"
    assert "socket" not in fds  # the zygote's and the keeper's control sockets stay outside
    assert cgroup == "/"  # its own cgroup namespace, rooted at its own group


def test_a_dead_zygote_is_replaced_and_the_submission_still_graded(pool):
    assert run(pool, "return x").pooled
    os.kill(zygote_interpreter(pool), signal.SIGKILL)
    time.sleep(0.2)
    result = run(pool, "return x * 3")
    assert result.status == "ok" and result.cases[0].result.tolist() == [3.0, 3.0]
    assert result.pooled  # forked from the replacement
    assert all(z.alive() for z in pool.zygotes("cpu"))


def test_a_wedged_zygote_is_replaced_without_a_hang(pool, monkeypatch):
    monkeypatch.setattr(forked_module, "SPAWN_TIMEOUT", 1.0)
    assert run(pool, "return x").pooled
    wedged = zygote_interpreter(pool)
    os.kill(wedged, signal.SIGSTOP)
    try:
        started = time.monotonic()
        result = run(pool, "return x * 2")
        assert result.status == "ok" and result.cases[0].result.tolist() == [2.0, 2.0]
        assert time.monotonic() - started < LIMITS.wall_seconds
        assert wedged not in [zygote_interpreter(pool)]
    finally:
        try:
            os.kill(wedged, signal.SIGCONT)
        except ProcessLookupError:
            pass


def test_a_zygote_that_dies_mid_run_is_an_infrastructure_failure_not_a_verdict(pool):
    assert run(pool, "return x").pooled
    victim = zygote_interpreter(pool)
    threading.Timer(1.0, os.kill, (victim, signal.SIGKILL)).start()
    before = leased_uids()
    with pytest.raises(SandboxUnavailable):
        run(pool, "time.sleep(5)\nreturn x")
    [uid] = leased_uids() - before
    assert uid_processes(uid) == []  # the run had started; nothing of it is left


def test_pool_size_zero_and_the_cold_path(monkeypatch):
    monkeypatch.setenv("GRADING_POOL_SIZE", "0")
    off = SandboxPool()
    assert not off.enabled
    result = run(off, "return x * 2")
    assert result.status == "ok" and not result.pooled
    monkeypatch.setenv("GRADING_POOL_SIZE", "two")
    assert SandboxPool().size == 1  # unreadable: the default, with a warning


def test_an_old_zygote_is_recycled_and_no_run_waits_for_its_replacement(monkeypatch):
    monkeypatch.setenv(pool_module.MAX_AGE_ENV, "30")
    pool = SandboxPool(size=1)
    try:
        assert pool.max_age == 30
        assert run(pool, "return x").pooled
        [old] = pool.zygotes("cpu")
        assert not pool.due(old)
        old.started -= 31  # an hour-old zygote, without waiting an hour
        assert pool.due(old)
        runs_when_due = old.runs
        deadline = time.monotonic() + 90
        while True:
            assert time.monotonic() < deadline, "the replacement never took over"
            served_by_old = old.runs
            assert run(pool, "return x * 2").pooled
            if pool.zygotes("cpu") != [old]:
                break
            # Until its replacement is ready, each run is forked from the old zygote at once, not made to wait
            # for the new one's import of torch.
            assert old.runs == served_by_old + 1
            time.sleep(0.3)
        # The first run after it fell due did not wait for a new zygote: the old one forked it.
        assert old.runs > runs_when_due
        [new] = pool.zygotes("cpu")
        assert new is not old and new.ready and not pool.due(new)
        assert not old.alive()  # retired once its replacement was ready
        assert new.runs == 1  # the run that found it ready was its first
    finally:
        pool.close()


def test_the_zygote_age_setting(monkeypatch):
    monkeypatch.delenv(pool_module.MAX_AGE_ENV, raising=False)
    assert pool_module.zygote_max_age() == 3600
    for raw, expected in (("0", 0), ("2.5", 2.5), ("", 3600), ("an hour", 3600), ("-1", 3600), ("nan", 3600)):
        monkeypatch.setenv(pool_module.MAX_AGE_ENV, raw)
        assert pool_module.zygote_max_age() == expected, raw
    never = SandboxPool(size=1, max_age=0)  # 0: recycled only after its runs
    zygote = SimpleNamespace(runs=0, started=time.monotonic() - 86400)
    assert not never.due(zygote)
    zygote.runs = pool_module.MAX_RUNS_PER_ZYGOTE
    assert never.due(zygote)
