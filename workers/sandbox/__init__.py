"""The only code that touches learner code. Imports nothing from Django."""

from workers.sandbox.runner import (
    CaseOutput,
    Limits,
    PrewarmedSandbox,
    SandboxResult,
    SandboxUnavailable,
    run_cases,
)

__all__ = ["CaseOutput", "Limits", "PrewarmedSandbox", "SandboxResult", "SandboxUnavailable", "run_cases"]
