"""Limits are the run's, not each process's: memory summed over processes, memfd and tmpfs pages, inodes.

RLIMIT_AS caps each process; the run's own cgroup (workers.sandbox.cgroup) caps them all together,
kernel memory included. Each attack here ends in a memory verdict, in bounded time, with nothing left.
"""

from __future__ import annotations

import os

import pytest

from tests.conftest import REQUIRE_SERVICES
from tests.fixtures.sandbox import POOL
from tests.grading.conftest import grade_code
from tests.security.conftest import HOSTILE_LIMITS, run_hostile
from workers.sandbox import Limits, runner

pytestmark = pytest.mark.sandbox

# torch's import needs over 1 GB of address space; the run's memory (1.5 GB + /tmp) is what the cgroup caps.
LIMITS = Limits(**{**HOSTILE_LIMITS.__dict__, "memory_mb": 1536, "tmp_mb": 64, "wall_seconds": 20, "cpu_seconds": 20})

# Ten processes that each stay under every per-process limit (address space, file size, open files).
SPREAD = """
children = []
for _ in range(10):
    pid = os.fork()
    if pid == 0:
        try:
            HOARD
            time.sleep(60)
        finally:
            os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
return x.sum()
"""


def spread(hoard: str) -> str:
    return SPREAD.replace("HOARD", hoard.strip().replace("\n", "\n            "))


@pytest.fixture(autouse=True)
def cgroups_here():
    problem = runner.cgroup_problem()
    if problem:
        if REQUIRE_SERVICES:
            pytest.fail(f"per-run cgroups are required here: {problem}")
        pytest.skip(problem)


def test_memory_summed_over_processes_is_capped():
    body = spread("""
block = bytearray(250 << 20)
for i in range(0, len(block), 4096):
    block[i] = 1
""")
    result = run_hostile(body, limits=LIMITS)
    assert result.status == "memory", (result.status, result.message)


def test_memfd_pages_count():
    body = spread("""
fds = [os.memfd_create('hoard') for _ in range(16)]
for fd in fds:
    os.write(fd, b'x' * (15 << 20))
""")
    result = run_hostile(body, limits=LIMITS)
    assert result.status == "memory", (result.status, result.message)


def test_an_inode_flood_in_tmp_is_capped():
    # Empty files cost no bytes of /tmp's size cap, only kernel memory (about 1 KB each). Four helpers hold
    # 1 GB first, which with the harness stays under the run's 1.6 GB: only the inodes can push it over,
    # and the flood then needs a few hundred thousand files rather than a million and a half.
    body = """
holders = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        try:
            block = bytearray(250 << 20)
            for i in range(0, len(block), 4096):
                block[i] = 1
            time.sleep(60)
        finally:
            os._exit(0)
    holders.append(pid)
time.sleep(1.5)
os.makedirs('/tmp/flood', exist_ok=True)
for i in range(5_000_000):
    open(f'/tmp/flood/{i}', 'w').close()
return x.sum()
"""
    limits = Limits(**{**LIMITS.__dict__, "cpu_seconds": 60, "wall_seconds": 60})
    result = run_hostile(body, limits=limits)
    assert result.status == "memory", (result.status, result.message)


def test_a_memory_verdict_reaches_the_learner():
    body = spread("""
fds = [os.memfd_create('hoard') for _ in range(16)]
for fd in fds:
    os.write(fd, b'x' * (15 << 20))
""").replace("return x.sum()", "return student_logits.sum()")
    indented = "".join(f"    {line}\n" for line in body.strip().splitlines())
    code = f"import os, time\ndef distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):\n{indented}"
    verdict = grade_code("distillation-loss", code, limits=LIMITS)
    assert verdict.status == "failed" and "memory limit" in verdict.feedback, verdict.feedback


def test_the_run_leaves_no_cgroup_behind():
    box = runner.ColdSandbox(LIMITS, "cpu")
    paths = box.cgroup.paths
    assert all(os.path.isdir(path) for path in paths)
    box.close()
    assert not any(os.path.exists(path) for path in paths)


def test_a_pooled_run_leaves_no_cgroup_behind():
    box = POOL.sandbox(LIMITS, "cpu")
    assert box is not None and box.pooled
    paths = box.cgroup.paths
    assert all(os.path.isdir(path) for path in paths)
    # The forked run (its keeper, and everything it will start) is in the run's group, nowhere else.
    assert box.cgroup.pids() and box.keeper_pid in box.cgroup.pids()
    box.close()
    assert not any(os.path.exists(path) for path in paths)
