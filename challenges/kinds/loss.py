"""What every "write this loss" kind shares: a scalar loss graded against a float64 reference.

A loss kind draws probes (inputs with a description and a value-check group), states the float64
reference formula and the formulas of known mistakes. This module does the rest once: the cases (with
gradients taken for the student's and the teacher's logits), the scalar-tensor check, one value check per
group, finiteness with a named unstable softmax, the gradient against the reference, no gradient into the
teacher, inputs left unchanged, and naming the mistake whose formula matches every ordinary probe.

Whether a gradient reached the teacher and whether the inputs came back unchanged are measured in the
learner's own process, where hooks or a patched ``torch.Tensor`` can fake them: those two checks are
advisory (shown, named, never deciding the verdict). The values are verified outside from returned data.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import astuple, dataclass
from typing import Any

import torch

from challenges.kinds.grader import (
    ChallengeKind,
    Check,
    Drawn,
    Evaluation,
    GradingTarget,
    Mistake,
    first_problem,
    fmt,
    not_checked_if_no_result,
    runs_check,
)
from workers.sandbox import Case, CaseOutput

REL_TOL = 1e-4
ABS_TOL = 1e-5
GRAD_REL_TOL = 1e-3

Formula = Callable[..., torch.Tensor]  # the entry point's arguments, tensors in float64, in order


@dataclass(frozen=True)
class Probe:
    group: str  # the value check it belongs to
    description: str  # "a batch of 4, 10 classes, T=2"
    diagnose: bool = True  # False for probes where mistakes show as NaN/inf rather than as a value


@dataclass(frozen=True)
class FormulaMistake(Mistake):
    formula: Formula = None  # type: ignore[assignment]


@dataclass(frozen=True)
class ValueGroup:
    group: str
    check: str
    what: str  # "combined loss"


@dataclass
class LossDrawn(Drawn):
    probe: Probe
    inputs: dict[str, Any]  # exactly what was sent: float32/int64 tensors and Python numbers
    case: Case

    def describe(self) -> str:
        return self.probe.description


class LossKind(ChallengeKind):
    student = "student_logits"
    teacher = "teacher_logits"
    groups: tuple[ValueGroup, ...] = ()
    mistakes: tuple[FormulaMistake, ...] = ()
    unstable: Mistake
    not_detached: Mistake
    passed_text = "All checks passed: your loss matches the reference on every hidden input."
    finite_text = "No NaN or inf, even with logits in the hundreds."

    # -- what a loss kind states --------------------------------------------------------------

    def reference(self, *args: Any) -> torch.Tensor:
        raise NotImplementedError

    def draw_inputs(self, seed: int) -> list[tuple[Probe, dict[str, Any]]]:
        raise NotImplementedError

    def extra_checks(self, drawn: list[LossDrawn], outputs: list[CaseOutput], values: list[float | None]) -> list:
        """Checks of the kind's own, placed after the value checks (e.g. padding invariance)."""
        return []

    # -- the shared machinery -----------------------------------------------------------------

    def example_inputs(self) -> list[tuple[Probe, dict[str, Any]]]:
        """The visible examples: small fixed inputs from a fixed seed, never one of the hidden draws."""
        raise NotImplementedError

    def draw(self, seed: int, target: GradingTarget, device: str) -> list[LossDrawn]:
        return self._drawn(self.draw_inputs(seed))

    def examples(self, target: GradingTarget, device: str) -> list[LossDrawn]:
        return self._drawn(self.example_inputs())

    def _drawn(self, probes: list[tuple[Probe, dict[str, Any]]]) -> list[LossDrawn]:
        drawn = []
        for probe, inputs in probes:
            args = {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}
            drawn.append(LossDrawn(probe=probe, inputs=inputs, case=Case(args, grad=(self.student, self.teacher))))
        return drawn

    def example_report(self, drawn: list[LossDrawn], outputs: list[CaseOutput], target: GradingTarget) -> list[dict]:
        """Per example: the inputs' shapes, the reference's float64 value, the learner's, and the gradient."""
        report = []
        for d, out in zip(drawn, outputs, strict=True):
            want = self.expected(d)
            row = {
                "description": d.describe(),
                "inputs": [_input_summary(name, value) for name, value in d.inputs.items()],
                "expected": fmt(want),
                "got": None,
                "matches": False,
                "gradient": None,
                "error": "",
            }
            if not out.ok:
                row["error"] = ((out.error or {}).get("traceback") or "").strip() or "Your function raised an error."
            elif problem := _scalar_problem(out):
                row["error"] = f"Your function {problem}."
            else:
                got = _scalar_value(out)
                row["got"] = fmt(got) if math.isfinite(got) else str(got)
                row["matches"] = _close(got, want)
                row["gradient"] = self._example_gradient(d, out)
            report.append(row)
        return report

    def _example_gradient(self, d: LossDrawn, out: CaseOutput) -> str:
        """The gradient w.r.t. the student's logits against the reference's: "matches", "differs" or "missing"."""
        grad = out.grads.get(self.student)
        if grad is None:
            return "missing"
        want = self.expected_grad(d)
        if grad.shape != want.shape or not grad.is_floating_point():
            return "differs"
        got = grad.double()
        tol = GRAD_REL_TOL * want.abs().max().item() + 1e-7
        return "matches" if torch.isfinite(got).all() and (got - want).abs().max().item() <= tol else "differs"

    def _args64(self, d: LossDrawn) -> list[Any]:
        args = []
        for name in self.info.parameters:
            value = d.inputs[name]
            if isinstance(value, torch.Tensor) and value.is_floating_point():
                value = value.double()
            args.append(value)
        return args

    def expected(self, d: LossDrawn, formula: Formula | None = None) -> float:
        return float((formula or self.reference)(*self._args64(d)))

    def expected_grad(self, d: LossDrawn) -> torch.Tensor:
        args = self._args64(d)
        position = self.info.parameters.index(self.student)
        student = args[position].clone().requires_grad_(True)
        args[position] = student
        self.reference(*args).backward()
        return student.grad

    def passed_feedback(self, evaluation: Evaluation, target: GradingTarget) -> str:
        return self.passed_text

    def evaluate(self, drawn: list[LossDrawn], outputs: list[CaseOutput], target: GradingTarget) -> Evaluation:
        checks = [runs_check(drawn, outputs)]
        checks.append(
            first_problem(
                "returns_scalar_tensor", drawn, outputs, _scalar_problem, "Returns a 0-dim floating-point torch.Tensor."
            )
        )
        values = [_scalar_value(out) if out.ok else None for out in outputs]
        wanted = [self.expected(d) for d in drawn]
        mistakes: list[Mistake] = []
        # Matching known mistakes costs a float64 pass per mistake and probe: only for a wrong answer.
        right = all(close(v, w) for d, v, w in zip(drawn, values, wanted, strict=True) if d.probe.diagnose)
        diagnosis = None if right else self._diagnose(drawn, values)
        if diagnosis is not None:
            mistakes.append(diagnosis)
        for group in self.groups:
            checks.append(self._value_check(group, drawn, values, wanted, mistakes))
        checks.append(self._finite_check(drawn, values))
        checks.extend(self.extra_checks(drawn, outputs, values))
        checks.append(self._gradient_check(drawn, outputs))
        teacher = self._teacher_check(drawn, outputs)
        if not teacher.passed and any(out.grads.get(self.teacher) is not None for out in outputs):
            mistakes.append(self.not_detached)
        checks.append(teacher)
        checks.append(self._inputs_check(drawn, outputs))
        return Evaluation(checks=checks, mistakes=mistakes, details={"kind": self.info.name, "cases": len(drawn)})

    def _diagnose(self, drawn: list[LossDrawn], values: list[float | None]) -> FormulaMistake | None:
        """The first known mistake whose float64 value matches the submission on every ordinary probe."""
        ordinary = [(d, v) for d, v in zip(drawn, values, strict=True) if d.probe.diagnose]
        if not ordinary or any(v is None for _, v in ordinary):
            return None
        for mistake in self.mistakes:
            if all(_close(v, self.expected(d, mistake.formula)) for d, v in ordinary):  # type: ignore[arg-type]
                return mistake
        return None

    def _value_check(self, group: ValueGroup, drawn, values, wanted, mistakes: list[Mistake]) -> Check:
        for d, v, want in zip(drawn, values, wanted, strict=True):
            if d.probe.group != group.group:
                continue
            if v is None:
                return Check(group.check, False, f"Not checked on {d.describe()}: no scalar tensor result.")
            if _close(v, want):
                continue
            # The message says what was measured; the mistake it points to is named once, in the feedback.
            message = f"Wrong {group.what} on {d.describe()}: expected {fmt(want)}, got {fmt(v)}."
            if not math.isfinite(v):
                message = f"Got {v} on {d.describe()} (expected {fmt(want)})."
                if not d.probe.diagnose and self.unstable not in mistakes:
                    mistakes.append(self.unstable)
            return Check(group.check, False, message)
        return Check(group.check, True, f"Correct {group.what} on every hidden input.")

    def _finite_check(self, drawn, values) -> Check:
        for d, v in zip(drawn, values, strict=True):
            if v is not None and not math.isfinite(v):
                return Check("finite", False, f"Returned {v} on {d.describe()}; the loss must be finite.")
        if any(v is None for v in values):
            return Check("finite", False, "Not checked on every input: no scalar tensor result.")
        return Check("finite", True, self.finite_text)

    def _gradient_check(self, drawn: list[LossDrawn], outputs: list[CaseOutput]) -> Check:
        for d, out in zip(drawn, outputs, strict=True):
            if not d.probe.diagnose:
                continue
            where = f"on {d.describe()}"
            if not out.ok or out.result_type != "Tensor":
                return Check("gradient", False, f"Not checked {where}: no tensor result.")
            if out.backward == "skipped_not_scalar":
                return Check("gradient", False, f"Not checked {where}: the result is not a scalar.")
            grad = out.grads.get(self.student)
            if out.backward == "no_grad_fn" or grad is None:
                return Check(
                    "gradient",
                    False,
                    f"No gradient reached {self.student} {where}: the loss must be built from {self.student} "
                    "with torch operations (no .item(), .detach(), numpy or torch.tensor(...) on the student "
                    "side).",
                )
            want = self.expected_grad(d)
            if grad.shape != want.shape or not grad.is_floating_point():
                return Check("gradient", False, f"Gradient w.r.t. {self.student} has the wrong shape {where}.")
            got = grad.double()
            tol = GRAD_REL_TOL * want.abs().max().item() + 1e-7
            if not torch.isfinite(got).all() or (got - want).abs().max().item() > tol:
                flat = int((got - want).abs().flatten().argmax())
                position = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), got.shape))
                return Check(
                    "gradient",
                    False,
                    f"Wrong gradient w.r.t. {self.student} {where}: at index {position} expected "
                    f"{fmt(want.flatten()[flat].item())}, got {fmt(got.flatten()[flat].item())}.",
                )
        return Check("gradient", True, f"Gradient w.r.t. {self.student} matches the reference.")

    def _teacher_check(self, drawn: list[LossDrawn], outputs: list[CaseOutput]) -> Check:
        for d, out in zip(drawn, outputs, strict=True):
            if out.ok and out.grads.get(self.teacher) is not None:
                return _advice("teacher_no_gradient", False, f"On {d.describe()}, a gradient reached {self.teacher}.")
        not_checked = not_checked_if_no_result("teacher_no_gradient", outputs)
        return (
            _advice(*astuple(not_checked)[:3])
            if not_checked
            else _advice("teacher_no_gradient", True, f"No gradient reaches {self.teacher}.")
        )

    def _inputs_check(self, drawn: list[LossDrawn], outputs: list[CaseOutput]) -> Check:
        for d, out in zip(drawn, outputs, strict=True):
            for name, before in d.inputs.items():
                if not isinstance(before, torch.Tensor):
                    continue
                after = out.inputs_after.get(name)
                if after is None or after.dtype != before.dtype or after.shape != before.shape:
                    return _advice("inputs_unchanged", False, f"{name} came back altered on {d.describe()}.")
                if not torch.equal(after, before):
                    return _advice(
                        "inputs_unchanged",
                        False,
                        f"Your function modified {name} in place on {d.describe()}; compute new tensors "
                        "instead (e.g. x / T rather than x.div_(T)).",
                    )
        not_checked = not_checked_if_no_result("inputs_unchanged", outputs)
        return (
            _advice(*astuple(not_checked)[:3])
            if not_checked
            else _advice("inputs_unchanged", True, "Inputs are not modified in place.")
        )


def _input_summary(name: str, value: Any) -> dict[str, Any]:
    if isinstance(value, torch.Tensor):
        return {"name": name, "shape": list(value.shape), "dtype": str(value.dtype).removeprefix("torch.")}
    return {"name": name, "value": value}


def _advice(name: str, passed: bool, message: str) -> Check:
    """An advisory check: measured inside the learner's process (see the module docstring)."""
    return Check(name, passed, message, advisory=True)


def _close(got: float, want: float) -> bool:
    return math.isfinite(got) and abs(got - want) <= REL_TOL * abs(want) + ABS_TOL


def close(got: float | None, want: float) -> bool:
    return got is not None and _close(got, want)


def _scalar_value(out: CaseOutput) -> float | None:
    t = out.result
    if out.result_type != "Tensor" or t is None or t.dim() != 0 or not t.is_floating_point():
        return None
    return float(t.double())


def _scalar_problem(out: CaseOutput) -> str | None:
    if out.result_type != "Tensor" or out.result is None:
        return f"returned a {out.result_type or 'nothing'}, expected a plain torch.Tensor"
    t = out.result
    if t.dim() != 0:
        return f"returned a tensor of shape {tuple(t.shape)}, expected a 0-dim (scalar) tensor"
    if not t.is_floating_point():
        return f"returned dtype {str(t.dtype).removeprefix('torch.')}, expected a floating-point tensor"
    return None
