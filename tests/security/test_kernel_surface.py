"""The kernel surface a sandbox must not reach: the seccomp filter, --disable-userns and a fresh keyring.

Each probe calls the raw system call through ctypes (as hostile code would) and reports the errno; the
sandbox's own threads, forks and pipes keep working.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid

import pytest

from tests.security.conftest import HOSTILE_LIMITS, run_hostile
from workers.sandbox.keyring import uid_has_keys
from workers.sandbox.uids import leased_uids

pytestmark = pytest.mark.sandbox

PRELUDE = """
import ctypes, errno, socket
libc = ctypes.CDLL(None, use_errno=True)
def sys_call(number, *args):
    ctypes.set_errno(0)
    result = libc.syscall(number, *args)
    return 'ok' if result >= 0 else errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))
"""

# x86-64 numbers (asm/unistd_64.h); the suite runs on x86-64 machines.
SYSCALLS = {
    "keyctl": "sys_call(250, 0, -3, 0)",  # KEYCTL_GET_KEYRING_ID of the session keyring
    "add_key": "sys_call(248, b'user', b'lp-planted', b'x', 1, -3)",
    "request_key": "sys_call(249, b'user', b'lp-anything', None, 0)",
    "unshare user": "sys_call(272, 0x10000000)",
    "unshare mount": "sys_call(272, 0x00020000)",
    "clone new user": "sys_call(56, 0x10000000 | 17, 0, 0, 0, 0)",
    "clone3": "sys_call(435, 0, 0)",
    "setns": "sys_call(308, 0, 0)",
    "mount": "sys_call(165, b'none', b'/tmp', b'tmpfs', 0, 0)",
    "pivot_root": "sys_call(155, b'/tmp', b'/tmp')",
    "io_uring_setup": "sys_call(425, 8, 0)",
    "bpf": "sys_call(321, 0, 0, 0)",
    "perf_event_open": "sys_call(298, 0, 0, -1, -1, 0)",
    "userfaultfd": "sys_call(323, 0)",
    "ptrace": "sys_call(101, 16, 1, 0, 0)",  # PTRACE_ATTACH to the sandbox's init
}
EXPECTED = {"clone3": "ENOSYS"}
FAMILIES = {"AF_VSOCK": 40, "AF_NETLINK": 16, "AF_PACKET": 17, "AF_BLUETOOTH": 31, "AF_ALG": 38, "AF_XDP": 44}


def probe(lines: dict[str, str]) -> dict[str, str]:
    body = (
        "out = {}\n"
        + "".join(f"out[{name!r}] = {expr}\n" for name, expr in lines.items())
        + "print('RESULT', out)\nreturn x.sum()"
    )
    result = run_hostile(body, prelude=PRELUDE)
    assert result.status == "ok", (result.status, result.message, result.stderr_tail[-2000:])
    line = next(line for line in result.stdout_tail.splitlines() if line.startswith("RESULT "))
    return eval(line.removeprefix("RESULT "))  # our own repr of a dict of strings


def test_this_host_gives_every_layer():
    from tests.conftest import REQUIRE_SERVICES
    from workers.sandbox import support_problems

    problems = support_problems()
    if problems and not REQUIRE_SERVICES:
        pytest.skip("; ".join(problems))
    assert problems == []


def test_denied_system_calls_fail_with_an_error():
    outcome = probe(SYSCALLS)
    for name in SYSCALLS:
        assert outcome[name] == EXPECTED.get(name, "EPERM"), (name, outcome[name])


def test_socket_families_outside_unix_and_ip_are_refused():
    lines = {name: f"sys_call(41, {number}, 1, 0)" for name, number in FAMILIES.items()}
    lines |= {
        f"socketpair {name}": f"sys_call(53, {number}, 1, 0, ctypes.byref((ctypes.c_int * 2)()))"
        for name, number in FAMILIES.items()
    }
    lines["AF_UNIX"] = "sys_call(41, 1, 1, 0)"
    lines["AF_INET"] = "sys_call(41, 2, 1, 0)"
    lines["AF_INET6"] = "sys_call(41, 10, 1, 0)"
    outcome = probe(lines)
    for name in FAMILIES:
        assert outcome[name] == "EAFNOSUPPORT" and outcome[f"socketpair {name}"] == "EAFNOSUPPORT", outcome
    assert outcome["AF_UNIX"] == outcome["AF_INET"] == outcome["AF_INET6"] == "ok"


def test_threads_forks_and_torch_still_work():
    body = """
import threading
torch.set_num_threads(2)
done = []
t = threading.Thread(target=lambda: done.append((torch.randn(64, 64) @ torch.randn(64, 64)).sum().item()))
t.start(); t.join()
pid = os.fork()
if pid == 0:
    os._exit(7)
_, status = os.waitpid(pid, 0)
print('RESULT', len(done), os.waitstatus_to_exitcode(status))
return x.sum()
"""
    result = run_hostile(body)
    assert result.status == "ok" and "RESULT 1 7" in result.stdout_tail, result.stderr_tail[-2000:]


KEYRING_SCRIPT = """
import ctypes, json, sys, torch
from workers.sandbox import Case, SandboxPool, run_cases
from tests.security.conftest import HOSTILE_LIMITS
libc = ctypes.CDLL(None, use_errno=True)
marker = sys.argv[1]
# A session keyring like a service's under systemd or a container runtime, holding a secret.
assert libc.syscall(250, 1, marker.encode() + b"-session") >= 0
assert libc.syscall(248, b"user", marker.encode(), b"the-worker-secret", 17, -3) >= 0
code = '''
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def f(x):
    seen = open("/proc/keys").read()
    print("KEYS", seen.replace("\\\\n", " | "))
    print("JOIN", libc.syscall(250, 1, b"planted-session"), ctypes.get_errno())
    print("PLANT", libc.syscall(248, b"user", b"planted-by-learner", b"x", 1, -4), ctypes.get_errno())
    return x.sum()
'''
outputs = []
# The pool's zygote is started under the secret-holding keyring too: its runs must not see it either.
pool = SandboxPool(size=1) if sys.argv[2] == "pooled" else None
for _ in range(2):
    result = run_cases(code, entrypoint="f", cases=[Case({"x": torch.ones(2)})], limits=HOSTILE_LIMITS, pool=pool)
    outputs.append({"status": result.status, "stdout": result.stdout_tail, "pooled": result.pooled})
if pool is not None:
    pool.close()
with open("/proc/keys") as fh:
    mine = fh.read()
from workers.sandbox.uids import leased_uids
print(json.dumps({"runs": outputs, "worker_keys": mine, "uids": sorted(leased_uids())}))
"""


@pytest.mark.parametrize("path", ["pooled", "cold"])
def test_keyrings_do_not_cross_the_boundary(tmp_path, path):
    """Under a session keyring with a secret: a run sees neither it nor an earlier run's keys, plants nothing."""
    marker = f"lp-secret-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "learnpath.settings.test", "PYTHONPATH": os.getcwd()}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(KEYRING_SCRIPT), marker, path],
        capture_output=True, text=True, timeout=120, env=env, cwd=os.getcwd(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    import json

    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert marker in report["worker_keys"], "the test's own session keyring holds the secret"
    for run in report["runs"]:
        assert run["status"] == "ok" and run["pooled"] == (path == "pooled")
        assert marker not in run["stdout"] and "planted" not in run["stdout"].split("JOIN")[0]
        assert "JOIN -1 1" in run["stdout"] and "PLANT -1 1" in run["stdout"]  # EPERM
    assert "planted" not in report["worker_keys"]
    for uid in report["uids"]:
        assert not uid_has_keys(uid), f"keys of sandbox uid {uid} outlived its run"
