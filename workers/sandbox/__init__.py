"""The only code that touches learner code. Imports nothing from Django.

``Limits``, the case types and the pool manager import without torch; the runner and the zygote client
(which need torch) load on first use, so the web process can read limits without importing it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workers.sandbox.cases import Case, CaseOutput, ModuleSpec, ResultMode, StateDictResult, TensorResult
from workers.sandbox.limits import Limits
from workers.sandbox.pool import SandboxPool

if TYPE_CHECKING:
    from workers.sandbox.runner import ColdSandbox, SandboxResult, SandboxUnavailable, run_cases, support_problems

_RUNNER_NAMES = ("ColdSandbox", "SandboxResult", "SandboxUnavailable", "run_cases", "support_problems")

__all__ = [
    "Case",
    "CaseOutput",
    "ColdSandbox",
    "Limits",
    "ModuleSpec",
    "ResultMode",
    "SandboxPool",
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
