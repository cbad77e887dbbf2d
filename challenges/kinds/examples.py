"""Run on examples: the learner's code on a kind's visible examples, through the same sandbox as grading.

Nothing here is a verdict and nothing is counted: the kind's :meth:`~challenges.kinds.grader.ChallengeKind.
examples` are a few fixed, non-secret cases (never one of the hidden draws), the sandbox runs the learner's
function on them exactly as it does for grading, and the trusted side reports per example what went in
(:func:`input_view`: small tensors' values in full, large ones summarised, scalars), what came back and what
its own float64 reference gives; then the run's diagnosis (:func:`diagnosis_of`), in the words a submission's
feedback would open with, from the kind's own diagnosis of the examples' values. No Django imports.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from challenges.kinds.grader import (
    GradingTarget,
    Mistake,
    _outcome_message,
    clean_text,
    opening,
    run_drawn,
    trusted_work,
    unique_mistakes,
)

ExampleStatus = Literal["ran", "failed", "timeout"]
OUTPUT_CHARS = 4000  # of stdout and stderr each, kept on the run
OUTPUT_CUT = "[… earlier output not kept; its end follows]\n"
FULL_ELEMENTS = 40  # a tensor input up to this many elements is shown in full, a larger one summarised
FIRST_VALUES = 6  # the first values of a summarised tensor
DIGITS = 4  # significant digits of a shown float


@dataclass
class ExampleReport:
    status: ExampleStatus  # "ran": the function was called on every example (each row says how it went)
    message: str  # why it did not run, in the learner's terms; empty when it ran
    examples: list[dict[str, Any]] = field(default_factory=list)
    # What grading would say of these values: {"headline": ..., "mistakes": [...]}, empty when nothing differed.
    diagnosis: dict[str, Any] = field(default_factory=lambda: diagnosis_of([], ""))
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
    with trusted_work():
        drawn = kind.examples(target, device)
    result = run_drawn(target, kind, code, drawn, device=device, pool=pool)
    output = {"stdout": bounded_output(result.stdout_tail), "stderr": bounded_output(result.stderr_tail)}
    if result.status != "ok":
        status, message = _outcome_message(result, target, kind.info)
        return ExampleReport(
            status="timeout" if status == "timeout" else "failed",
            message=clean_text(message),
            seconds=round(time.monotonic() - started, 3),
            **output,
        )
    with trusted_work():
        findings = kind.example_report(drawn, result.cases, target)
    diagnosis = diagnosis_of(findings.mistakes, findings.headline)
    rows = [{k: clean_text(v) if isinstance(v, str) else v for k, v in row.items()} for row in findings.rows]
    return ExampleReport(
        status="ran",
        message="",
        examples=rows,
        diagnosis=diagnosis,
        seconds=round(time.monotonic() - started, 3),
        **output,
    )


def bounded_output(text: str | None) -> str:
    """The learner's output as text, at most :data:`OUTPUT_CHARS` characters: its end, saying when it was cut."""
    text = clean_text(text or "")
    if len(text) <= OUTPUT_CHARS:
        return text
    return OUTPUT_CUT + text[-(OUTPUT_CHARS - len(OUTPUT_CUT)) :]


def diagnosis_of(mistakes: list[Mistake], headline: str) -> dict[str, Any]:
    """A run's diagnosis as plain JSON, in grading's words (``grader.decide``): the headline is what a failed
    verdict would open with (the deciding mistakes, named and explained, most likely first; then, or alone,
    the kind's headline saying what differed that they do not explain); ``mistakes`` lists each once,
    advisory ones (tips) flagged."""
    unique = unique_mistakes(mistakes)
    return {
        "headline": clean_text(opening(unique, headline)),
        "mistakes": [
            {
                "key": clean_text(m.key),
                "title": clean_text(m.title),
                "explanation": clean_text(m.explanation),
                "advisory": m.advisory,
            }
            for m in unique
        ],
    }


def input_view(name: str, value: Any) -> dict[str, Any]:
    """One input of an example as plain JSON: a tensor's shape and dtype with its ``values`` (up to
    :data:`FULL_ELEMENTS`: nested lists, floats to :data:`DIGITS` significant digits, integers and booleans as
    integers) or, when larger, a one-line ``summary``; a number as it is."""
    import torch

    if not isinstance(value, torch.Tensor):
        return {"name": name, "value": value}
    view: dict[str, Any] = {"name": name, "shape": list(value.shape), "dtype": str(value.dtype).removeprefix("torch.")}
    t = value.detach().cpu()
    if t.numel() > FULL_ELEMENTS:
        view["summary"] = _summary(name, t)
    elif t.is_floating_point():
        view["values"] = _rounded(t.double().tolist())
    else:
        view["values"] = t.long().tolist()
    return view


def _rounded(values: Any) -> Any:
    if isinstance(values, list):
        return [_rounded(v) for v in values]
    return float(_number(values)) if math.isfinite(values) else str(values)


def _number(x: float) -> str:
    return f"{x:.{DIGITS}g}"


def _summary(name: str, t) -> str:
    """A large tensor in one line: how many values, a mask's real tokens per sequence, the range (and the mean
    of floats), and the first values."""
    import torch

    flat = t.flatten()
    parts = [f"{flat.numel():,} values"]
    if "mask" in name and t.dim() == 2:
        real = (t != 0).sum(dim=1).tolist()
        parts.append(f"real tokens per sequence: {', '.join(str(n) for n in real)}")
    if t.is_floating_point():
        finite = flat[flat.isfinite()].double()
        if finite.numel():
            low, mean, high = (_number(x.item()) for x in (finite.min(), finite.mean(), finite.max()))
            parts.append(f"min {low}, mean {mean}, max {high}")
        if finite.numel() < flat.numel():
            parts.append(f"{flat.numel() - finite.numel():,} not finite")
        first = [_number(v) for v in flat[:FIRST_VALUES].double().tolist()]
    else:
        if t.dtype != torch.bool:
            parts.append(f"min {int(flat.min())}, max {int(flat.max())}")
        first = [str(v) for v in flat[:FIRST_VALUES].long().tolist()]
    parts.append(f"first values: {', '.join(first)}, …")
    return "; ".join(parts)
