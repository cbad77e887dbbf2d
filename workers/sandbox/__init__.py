"""The only code that touches learner code. Imports nothing from Django.

``Limits`` and the case types import without torch; the runner (which needs torch) loads on first use,
so the web process can read limits and build requests' shapes without importing it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workers.sandbox.cases import Case, CaseOutput, ModuleSpec, ResultMode, StateDictResult, TensorResult
from workers.sandbox.limits import Limits
from workers.sandbox.prewarm import PrewarmSlot

if TYPE_CHECKING:
    from workers.sandbox.runner import PrewarmedSandbox, SandboxResult, SandboxUnavailable, run_cases, support_problems

_RUNNER_NAMES = ("PrewarmedSandbox", "SandboxResult", "SandboxUnavailable", "run_cases", "support_problems")

__all__ = [
    "Case",
    "CaseOutput",
    "Limits",
    "ModuleSpec",
    "PrewarmSlot",
    "PrewarmedSandbox",
    "ResultMode",
    "SandboxResult",
    "SandboxUnavailable",
    "StateDictResult",
    "TensorResult",
    "run_cases",
    "support_problems",
]


def __getattr__(name: str):
    if name in _RUNNER_NAMES:
        from workers.sandbox import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'workers.sandbox' has no attribute {name!r}")
