"""Every run draws its own random numbers: a pooled run must not replay the zygote's generator state.

A run forked from the warm zygote inherits that process's memory, generator states included: without a
reseed, every pooled run would see the same ``torch.rand`` / ``random.random`` / ``numpy.random`` draws (the
zygote's), and one learner could predict another's. The harness reseeds each run from the OS before any
learner code runs; a learner's own ``torch.manual_seed`` still makes its draws reproducible.
"""

from __future__ import annotations

import json

import pytest

from tests.fixtures.sandbox import active_pool
from tests.security.conftest import run_hostile

pytestmark = [pytest.mark.sandbox, pytest.mark.usefixtures("both_sandbox_paths")]

DRAWS = """
import json, random
import numpy
out = {
    'import_time': AT_IMPORT,
    'torch': torch.rand(4).tolist(),
    'random': random.random(),
    'numpy': numpy.random.random(),
}
print('RESULT', json.dumps(out))
return x.sum()
"""
# Drawn while the submission is imported: the earliest point learner code runs.
PRELUDE = "AT_IMPORT = torch.rand(2).tolist()"


def draws(body: str = DRAWS, prelude: str = PRELUDE) -> dict:
    result = run_hostile(body, prelude=prelude)
    assert result.status == "ok", (result.status, result.message, result.stderr_tail[-2000:])
    assert result.pooled == (active_pool() is not None)
    line = next(line for line in result.stdout_tail.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def test_two_runs_draw_different_numbers():
    first, second = draws(), draws()
    replayed = [name for name in ("import_time", "torch", "random", "numpy") if first[name] == second[name]]
    assert replayed == [], (replayed, first)


def test_a_learners_own_seed_still_makes_draws_reproducible():
    body = "torch.manual_seed(1234)\nprint('RESULT', __import__('json').dumps(torch.rand(4).tolist()))\nreturn x.sum()"
    first, second = draws(body, prelude=""), draws(body, prelude="")
    assert first == second
