"""Run on examples: the learner's code on a kind's visible examples, through the same sandbox as grading.

Nothing here is a verdict and nothing is counted: the kind's :meth:`~challenges.kinds.grader.ChallengeKind.
examples` are a few fixed, non-secret cases (never one of the hidden draws), the sandbox runs the learner's
function on them exactly as it does for grading, and the trusted side reports per example what went in
(shapes, scalars), what came back and what its own float64 reference gives. No Django imports.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from challenges.kinds.grader import GradingTarget, _outcome_message, clean_text, run_drawn

ExampleStatus = Literal["ran", "failed", "timeout"]
OUTPUT_CHARS = 4000  # of stdout and stderr each, kept on the run


@dataclass
class ExampleReport:
    status: ExampleStatus  # "ran": the function was called on every example (each row says how it went)
    message: str  # why it did not run, in the learner's terms; empty when it ran
    examples: list[dict[str, Any]] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_examples(target: GradingTarget, code: str, *, device: str = "cpu", pool=None) -> ExampleReport:
    """Run ``code`` on ``target``'s kind's visible examples. Raises GradingInfrastructureError like grading."""
    from challenges.kinds import kind_info, load_kind

    if not kind_info(target.kind).examples:
        raise ValueError(f"kind {target.kind} has no visible examples")
    kind = load_kind(target.kind)
    started = time.monotonic()
    drawn = kind.examples(target, device)
    result = run_drawn(target, kind, code, drawn, device=device, pool=pool)
    output = {
        "stdout": clean_text(result.stdout_tail or "")[-OUTPUT_CHARS:],
        "stderr": clean_text(result.stderr_tail or "")[-OUTPUT_CHARS:],
    }
    if result.status != "ok":
        status, message = _outcome_message(result, target, kind.info)
        return ExampleReport(
            status="timeout" if status == "timeout" else "failed",
            message=clean_text(message),
            seconds=round(time.monotonic() - started, 3),
            **output,
        )
    rows = kind.example_report(drawn, result.cases, target)
    rows = [{k: clean_text(v) if isinstance(v, str) else v for k, v in row.items()} for row in rows]
    return ExampleReport(
        status="ran", message="", examples=rows, seconds=round(time.monotonic() - started, 3), **output
    )
