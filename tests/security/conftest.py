import os

import pytest
import torch

from workers.sandbox import Limits, SandboxResult, run_cases
from workers.sandbox.runner import UID_RANGE

# Tight limits keep the hostile suite fast; torch's import needs ~3 s of CPU.
HOSTILE_LIMITS = Limits(cpu_seconds=6, wall_seconds=8, memory_mb=1536, processes=32, output_bytes=64 * 1024)


def run_hostile(body: str, *, limits: Limits = HOSTILE_LIMITS, prelude: str = "") -> SandboxResult:
    """Run ``def f(x): <body>`` once in the sandbox."""
    indented = "\n".join("    " + line for line in body.strip("\n").splitlines())
    code = f"import os, sys, time, torch\n{prelude}\ndef f(x):\n{indented}\n"
    return run_cases(code, entrypoint="f", cases=[{"x": torch.ones(2)}], limits=limits)


def sandbox_processes() -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if UID_RANGE[0] <= os.stat(f"/proc/{entry}").st_uid < UID_RANGE[1]:
                    found.append(int(entry))
            except OSError:
                pass
    return found


@pytest.fixture(autouse=True)
def no_survivors():
    yield
    assert sandbox_processes() == [], "a sandboxed process outlived its run"
