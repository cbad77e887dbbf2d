import json
import os
import time

import pytest
import torch

from workers.sandbox import Case, Limits, SandboxResult, run_cases
from workers.sandbox.runner import UID_RANGE, _is_zombie

# Tight limits keep the hostile suite fast; torch's import needs ~3 s of CPU.
HOSTILE_LIMITS = Limits(cpu_seconds=6, wall_seconds=8, memory_mb=1536, processes=32, output_bytes=64 * 1024)


def run_hostile(body: str, *, limits: Limits = HOSTILE_LIMITS, prelude: str = "") -> SandboxResult:
    """Run ``def f(x): <body>`` once in the sandbox."""
    indented = "\n".join("    " + line for line in body.strip("\n").splitlines())
    code = f"import os, sys, time, torch\n{prelude}\ndef f(x):\n{indented}\n"
    return run_cases(code, entrypoint="f", cases=[Case({"x": torch.ones(2)})], limits=limits)


def result_stream(manifest: dict, tensors: dict[str, torch.Tensor]) -> bytes:
    """A result stream as the harness frames it (magic, JSON manifest, safetensors), for decoder tests."""
    from safetensors.torch import save

    body = json.dumps(manifest).encode()
    blob = save(tensors)
    return b"LPRES1\n" + len(body).to_bytes(8, "big") + body + len(blob).to_bytes(8, "big") + blob


def sandbox_processes() -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                uid = os.stat(f"/proc/{entry}").st_uid
                if UID_RANGE[0] <= uid < UID_RANGE[1] and not _is_zombie(entry):
                    found.append(int(entry))
            except OSError:
                pass
    return found


@pytest.fixture(autouse=True)
def no_survivors():
    yield
    # The kernel tears a PID namespace down asynchronously; under a fork bomb on 2 cores that can
    # take a few seconds, so allow it before calling anything a survivor.
    deadline = time.monotonic() + 15
    while sandbox_processes() and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = {pid: _describe(pid) for pid in sandbox_processes()}
    assert survivors == {}, f"sandboxed processes outlived their run: {survivors}"


def _describe(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read()[:200]
    except OSError:
        return "gone"
