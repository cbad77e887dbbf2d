"""What every "write this loss" kind shares: a scalar loss graded against a float64 reference.

A loss kind draws probes (inputs with a description and a value-check group), states the float64
reference formula and the formulas of known mistakes. This module does the rest once: the cases (with
gradients taken for the student's and the teacher's logits), the scalar-tensor check, one value check per
group, finiteness, the gradient against the reference, whether a gradient reaches the teacher, inputs left
unchanged, and the diagnosis: the known mistakes (alone, two together, or in one branch only) that explain
the values that came back, ranked, or a headline saying what differed when none does.

Whether a gradient reached the teacher and whether the inputs came back unchanged are measured in the
learner's own process, where hooks or a patched ``torch.Tensor`` can fake them: those two checks are
advisory (shown, never deciding the verdict; an in-place edit is given as a tip). A gradient into the
teacher is not a mistake at all: correct code usually detaches the teacher in the training loop. The values
are verified outside from returned data.
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
    ExampleFindings,
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
class Combined:
    """Two mistakes made together (e.g. reduction='mean' *and* no T²): named as both when its formula matches."""

    parts: tuple[FormulaMistake, ...]
    formula: Formula


@dataclass(frozen=True)
class Candidate:
    """One explanation tried against the learner's values: a mistake, or mistakes made together."""

    parts: tuple[FormulaMistake, ...]
    formula: Formula


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
    combined: tuple[Combined, ...] = ()
    unstable: Mistake
    swapped_arguments: Mistake  # NaN on every input, small logits included
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

    def example_report(
        self, drawn: list[LossDrawn], outputs: list[CaseOutput], target: GradingTarget
    ) -> ExampleFindings:
        """Per example: the inputs (:func:`~challenges.kinds.examples.input_view`), the reference's float64
        value, the learner's, and the gradient; and grading's diagnosis of the examples' values."""
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
        _, _, mistakes, headline = self._values_and_diagnosis(drawn, outputs)
        return ExampleFindings(report, mistakes, headline)

    def _values_and_diagnosis(
        self, drawn: list[LossDrawn], outputs: list[CaseOutput]
    ) -> tuple[list[float | None], list[float], list[Mistake], str]:
        """The learner's values, the reference's, and the diagnosis (:meth:`_diagnose`): nothing when every
        value is right (matching known mistakes costs a float64 pass per candidate and probe), else the known
        mistakes that explain them or what differed. Grading and the examples alike."""
        values = [_scalar_value(out) if out.ok else None for out in outputs]
        wanted = [self.expected(d) for d in drawn]
        if all(close(v, w) for v, w in zip(values, wanted, strict=True)):
            return values, wanted, [], ""
        return values, wanted, *self._diagnose(drawn, values, wanted)

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
        values, wanted, mistakes, headline = self._values_and_diagnosis(drawn, outputs)
        for group in self.groups:
            checks.append(self._value_check(group, drawn, values, wanted))
        checks.append(self._finite_check(drawn, values))
        checks.extend(self.extra_checks(drawn, outputs, values))
        checks.append(self._gradient_check(drawn, outputs))
        checks.append(self._teacher_check(drawn, outputs))
        checks.append(self._inputs_check(drawn, outputs))
        return Evaluation(
            checks=checks,
            mistakes=mistakes,
            details={"kind": self.info.name, "cases": len(drawn)},
            headline=headline,
        )

    # -- the diagnosis: which known mistake explains the values that came back --------------------------

    def candidates(self) -> list[Candidate]:
        """Every explanation tried, single mistakes first (in the kind's order), then pairs made together."""
        return [Candidate((m,), m.formula) for m in self.mistakes] + [
            Candidate(c.parts, c.formula) for c in self.combined
        ]

    def _diagnose(
        self, drawn: list[LossDrawn], values: list[float | None], wanted: list[float]
    ) -> tuple[list[Mistake], str]:
        """The mistakes that explain the wrong values, ranked, or a headline saying what differed.

        Evidence is only what came back: the values on the ordinary probes (small logits), compared with the
        float64 formula of each known mistake. Ranked: a mistake (or mistakes made together) that matches every
        ordinary probe; then one that explains every wrong probe but not the right ones (made in one branch
        only, e.g. ``if alpha == 1``); then two that between them explain every wrong probe; then one that
        explains most of the wrong probes, named with what differed on the rest. NaN on every input, small
        logits included, is kl_div's arguments swapped; NaN or inf only with logits in the hundreds is an
        unstable softmax."""
        rows = list(zip(drawn, values, wanted, strict=True))
        ordinary = [(d, v, w) for d, v, w in rows if d.probe.diagnose]
        if ordinary and any(v is None for _, v, _ in ordinary):
            return [], ""  # it raised or returned no scalar: the runs / returns checks say so
        if ordinary and all(math.isnan(v) for _, v, _ in ordinary):
            return [self.swapped_arguments], ""
        mistakes: list[Mistake] = []
        failing = [i for i, (_, v, w) in enumerate(ordinary) if not _close(v, w)]
        unexplained: set[int] = set()
        if failing and all(math.isfinite(v) for _, v, _ in ordinary):
            explained, unexplained = self._explain(ordinary, failing)
            mistakes.extend(explained)
        large_bad = [v for d, v, _ in rows if not d.probe.diagnose and v is not None and not math.isfinite(v)]
        if large_bad and all(math.isfinite(v) for _, v, _ in ordinary):
            mistakes.append(self.unstable)
        if mistakes:
            if not unexplained:
                return mistakes, ""
            d, v, w = ordinary[min(unexplained)]
            return mistakes, (
                f"It does not explain every value: on {d.describe()} the expected loss is {fmt(w)} and yours is "
                f"{fmt(v)}, which no known mistake matches."
            )
        wrong = [(d, v, w) for d, v, w in ordinary if not _close(v, w)] or [
            (d, v, w) for d, v, w in rows if v is not None and not _close(v, w)
        ]
        if not wrong:
            return [], ""
        d, v, w = wrong[0]
        got = fmt(v) if math.isfinite(v) else str(v)
        return [], (
            f"No known mistake matches what your function returned: on {d.describe()} the expected loss is "
            f"{fmt(w)} and yours is {got}."
        )

    def candidate_values(self, d: LossDrawn, candidates: list[Candidate]) -> list[float | None]:
        """Each candidate's float64 value on ``d``, None where its formula cannot be computed there. A kind whose
        candidates share work (the same per-token divergence under several reductions) computes it once."""
        args = self._args64(d)
        values: list[float | None] = []
        for candidate in candidates:
            try:
                values.append(float(candidate.formula(*args)))
            except (RuntimeError, ValueError, ZeroDivisionError):
                values.append(None)
        return values

    def _explain(
        self, ordinary: list[tuple[LossDrawn, float, float]], failing: list[int]
    ) -> tuple[list[Mistake], set[int]]:
        """The mistakes that explain the wrong probes ``failing`` (indices into ``ordinary``), and the wrong
        probes they leave unexplained (empty unless only a partial explanation was found)."""
        matches: list[tuple[Candidate, set[int], bool]] = []  # candidate, wrong probes it explains, everywhere?
        candidates = self.candidates()
        table = [self.candidate_values(d, candidates) for d, _, _ in ordinary]  # a row per probe
        for k, candidate in enumerate(candidates):
            expected = [row[k] for row in table]
            if any(e is None for e in expected):
                continue
            hits = [_close(v, e) for (_, v, _), e in zip(ordinary, expected, strict=True)]
            explained = {i for i in failing if hits[i]}
            if explained:
                matches.append((candidate, explained, all(hits)))
        everywhere = [c for c, _, full in matches if full]
        if everywhere:
            return list(everywhere[0].parts), set()
        wrong = set(failing)
        branch = [c for c, explained, _ in matches if explained == wrong]
        if branch:
            return [self._branch(m, ordinary, wrong) for m in branch[0].parts], set()
        for i, (first, explained, _) in enumerate(matches):
            for second, rest, _ in matches[i + 1 :]:
                if explained | rest == wrong and not set(first.parts) & set(second.parts):
                    return [self._branch(m, ordinary, explained) for m in first.parts] + [
                        self._branch(m, ordinary, rest) for m in second.parts
                    ], set()
        # A partial explanation: the candidate explaining the most wrong probes (at least two, and more than
        # half of them); ties go to the simpler one, which comes first. What it leaves is said, not guessed.
        if matches:
            best, explained, _ = max(matches, key=lambda match: len(match[1]))
            if len(explained) >= 2 and 2 * len(explained) > len(wrong):
                return list(best.parts), wrong - explained
        return [], set()

    def _branch(self, mistake: FormulaMistake, ordinary, where: set[int]) -> Mistake:
        """``mistake``, made only on some inputs: where it shows, and an input where it would show but the loss
        is right."""
        shown = ordinary[min(where)][0].describe()
        right = [
            d.describe()
            for i, (d, v, w) in enumerate(ordinary)
            if i not in where and _close(v, w) and not _close(self.expected(d, mistake.formula), w)
        ]
        elsewhere = f", while on {right[0]} it is right" if right else ""
        return Mistake(
            f"{mistake.key}_in_one_branch",
            f"{mistake.title} in one branch only",
            f"Your loss matches this mistake on {shown}{elsewhere}: a branch (an `if` on alpha or T, or an early "
            f"return) computes the loss differently from the rest. {mistake.explanation}",
        )

    def _value_check(self, group: ValueGroup, drawn, values, wanted) -> Check:
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
        """Whether a gradient reached the teacher's logits: reported, never a mistake. Most correct code leaves
        the detaching to the training loop (the teacher runs under torch.no_grad()), so a loss that does not
        detach is not wrong, and a loss's value and its student gradient do not depend on it."""
        not_checked = not_checked_if_no_result("teacher_gradient", outputs)
        if not_checked:
            return _advice(*astuple(not_checked)[:3])
        for out in outputs:
            if out.ok and out.grads.get(self.teacher) is not None:
                return _advice(
                    "teacher_gradient",
                    True,
                    f"A gradient reaches {self.teacher}: fine when, as usual, the training loop runs the teacher "
                    "under torch.no_grad() (or detaches its logits).",
                )
        return _advice("teacher_gradient", True, f"No gradient reaches {self.teacher}.")

    def _inputs_check(self, drawn: list[LossDrawn], outputs: list[CaseOutput]) -> Check:
        for d, out in zip(drawn, outputs, strict=True):
            for name, before in d.inputs.items():
                if not isinstance(before, torch.Tensor):
                    continue
                after = out.inputs_after.get(name)
                if after is None or after.dtype != before.dtype or after.shape != before.shape:
                    return _advice(
                        "inputs_unchanged",
                        False,
                        f"{name} came back altered on {d.describe()}: leave the caller's tensors as they were.",
                    )
                if not torch.equal(after, before):
                    return _advice(
                        "inputs_unchanged",
                        False,
                        f"your function modified {name} in place on {d.describe()}, which changes the caller's "
                        "tensor too; compute new tensors instead (e.g. x / T rather than x.div_(T)).",
                    )
        not_checked = not_checked_if_no_result("inputs_unchanged", outputs)
        return (
            _advice(*astuple(not_checked)[:3])
            if not_checked
            else _advice("inputs_unchanged", True, "Inputs are not modified in place.")
        )


def _input_summary(name: str, value: Any) -> dict[str, Any]:
    """An example's input as the page shows it: small tensors' values, large ones summarised, numbers as is."""
    from challenges.kinds.examples import input_view

    return input_view(name, value)


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
