import json
import os
import time

import pytest
import torch

from tests.fixtures.sandbox import active_pool
from workers.sandbox import Case, Limits, SandboxResult, run_cases
from workers.sandbox.uids import leased_uids, uid_processes

# Tight limits keep the hostile suite fast; torch's import needs ~3 s of CPU.
HOSTILE_LIMITS = Limits(cpu_seconds=6, wall_seconds=8, memory_mb=1536, processes=32, output_bytes=64 * 1024)


def run_hostile(body: str, *, limits: Limits = HOSTILE_LIMITS, prelude: str = "") -> SandboxResult:
    """Run ``def f(x): <body>`` once in the sandbox: forked from the session's warm pool, as workers do,
    unless the test asked for the cold path (``tests.fixtures.sandbox``)."""
    indented = "\n".join("    " + line for line in body.strip("\n").splitlines())
    code = f"import os, sys, time, torch\n{prelude}\ndef f(x):\n{indented}\n"
    return run_cases(code, entrypoint="f", cases=[Case({"x": torch.ones(2)})], limits=limits, pool=active_pool())


def one_case_manifest(**record) -> dict:
    """A harness manifest with one ok case record; ``record`` sets its fields (result, grads, ...)."""
    base = {"index": 0, "ok": True, "grads": {}, "inputs_after": {}, "backward": "not_requested"}
    return {"version": 1, "status": "ok", "cases": [base | record]}


def result_stream(manifest: dict, tensors: dict[str, torch.Tensor]) -> bytes:
    """A result stream as the harness frames it (magic, JSON manifest, safetensors), for decoder tests."""
    from safetensors.torch import save

    body = json.dumps(manifest).encode()
    blob = save(tensors)
    return b"LPRES1\n" + len(body).to_bytes(8, "big") + body + len(blob).to_bytes(8, "big") + blob


def sandbox_processes(uids) -> list[int]:
    """Live processes of the given sandbox uids: only this test's own, never another grader's."""
    return [pid for uid in uids for pid in uid_processes(uid)]


@pytest.fixture(autouse=True)
def no_survivors():
    before = leased_uids()
    yield
    # Judge only the sandboxes this test started (a `make run` on the same host has its own).
    mine = leased_uids() - before
    # The kernel tears a PID namespace down asynchronously; under a fork bomb on 2 cores that can
    # take a few seconds, so allow it before calling anything a survivor.
    deadline = time.monotonic() + 15
    while sandbox_processes(mine) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = {pid: _describe(pid) for pid in sandbox_processes(mine)}
    assert survivors == {}, f"sandboxed processes outlived their run: {survivors}"


def _describe(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read()[:200]
    except OSError:
        return "gone"
