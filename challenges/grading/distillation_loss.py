"""Challenge ``distillation-loss``: the trusted side.

The learner writes ``distillation_loss(student_logits, teacher_logits, labels, temperature, alpha)``
returning alpha * T^2 * KL(softmax(t/T) || softmax(s/T)) (batch mean) + (1 - alpha) * CE(s, labels).

Inputs are drawn fresh from a seed the sandbox never sees; references and every known mistake are
computed here in float64 from the same float32 inputs, so a wrong answer can be matched to the
mistake that produces it. Probes are chosen so that each mistake differs from the right answer on at
least one of them by far more than float32 noise: at T=4 a swapped KL is within 0.5% of the right
value (fact sheet §2), so there are T=1, T=0.5 and T=2 probes with skewed logits, and alpha=1 /
alpha=0 probes that isolate the soft and the hard term.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from challenges.grading.base import Check, GradeResult, GradingInfrastructureError, register
from workers.sandbox import CaseOutput, Limits, PrewarmedSandbox, SandboxResult, SandboxUnavailable, run_cases

SLUG = "distillation-loss"
ENTRYPOINT = "distillation_loss"
REL_TOL = 1e-4
ABS_TOL = 1e-5


@dataclass(frozen=True)
class Probe:
    kind: str  # soft | hard | combined | large
    batch: int
    classes: int
    temperature: float
    alpha: float
    scale: float

    def describe(self) -> str:
        examples = "1 example" if self.batch == 1 else f"batch of {self.batch}"
        size = " with logits in the hundreds" if self.kind == "large" else ""
        return f"{examples}, {self.classes} classes, T={self.temperature:g}, alpha={self.alpha:g}{size}"


PROBES: tuple[Probe, ...] = (
    Probe("soft", 3, 5, 1.0, 1.0, 3.0),
    Probe("soft", 4, 10, 2.0, 1.0, 3.0),
    Probe("soft", 2, 7, 0.5, 1.0, 2.0),
    Probe("hard", 5, 6, 3.0, 0.0, 3.0),
    Probe("hard", 1, 4, 0.5, 0.0, 2.0),
    Probe("combined", 3, 1000, 4.0, 0.7, 2.0),
    Probe("combined", 1, 2, 0.5, 0.3, 2.0),
    Probe("combined", 6, 3, 1.0, 0.6, 3.0),
    Probe("combined", 16, 100, 2.5, 0.5, 1.5),
    Probe("large", 4, 50, 1.0, 0.7, 150.0),
    Probe("large", 2, 20, 0.5, 1.0, 100.0),
)


# --------------------------------------------------------------------------- float64 formulas


def _kl_rows(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """KL(p || q) per row from log-probabilities, float64."""
    return (log_p.exp() * (log_p - log_q)).sum(-1)


Formula = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, float, float], torch.Tensor]


def reference(s: torch.Tensor, t: torch.Tensor, y: torch.Tensor, T: float, alpha: float) -> torch.Tensor:
    soft = T * T * _kl_rows(F.log_softmax(t / T, -1), F.log_softmax(s / T, -1)).mean()
    return alpha * soft + (1 - alpha) * F.cross_entropy(s, y)


def _with_soft(soft_fn: Formula) -> Formula:
    def loss(s: torch.Tensor, t: torch.Tensor, y: torch.Tensor, T: float, alpha: float) -> torch.Tensor:
        return alpha * soft_fn(s, t, y, T, alpha) + (1 - alpha) * F.cross_entropy(s, y)

    return loss


def _soft(s: torch.Tensor, t: torch.Tensor, y: torch.Tensor, T: float, alpha: float) -> torch.Tensor:
    return T * T * _kl_rows(F.log_softmax(t / T, -1), F.log_softmax(s / T, -1)).mean()


@dataclass(frozen=True)
class Mistake:
    key: str
    title: str
    explanation: str
    formula: Formula


MISTAKES: tuple[Mistake, ...] = (
    Mistake(
        "swapped_kl",
        "KL direction swapped",
        "F.kl_div(input, target) computes KL(target || input-distribution); the teacher's probabilities "
        "are the target and the student's log-probabilities the input. You computed KL(student || teacher).",
        _with_soft(lambda s, t, y, T, a: T * T * _kl_rows(F.log_softmax(s / T, -1), F.log_softmax(t / T, -1)).mean()),
    ),
    Mistake(
        "probs_not_log_probs",
        "probabilities passed where log-probabilities belong",
        "F.kl_div expects its input as log-probabilities (F.log_softmax), but you passed softmax "
        "probabilities; the 'KL' can even come out negative.",
        _with_soft(
            lambda s, t, y, T, a: (
                T * T * (F.softmax(t / T, -1) * (F.log_softmax(t / T, -1) - F.softmax(s / T, -1))).sum(-1).mean()
            )
        ),
    ),
    Mistake(
        "reduction_mean",
        "reduction='mean' instead of 'batchmean'",
        "reduction='mean' divides by batch size x number of classes, which is not the KL divergence; "
        "use reduction='batchmean' (sum over classes, mean over examples).",
        _with_soft(lambda s, t, y, T, a: _soft(s, t, y, T, a) / s.shape[-1]),
    ),
    Mistake(
        "reduction_sum",
        "KL summed over the batch instead of averaged",
        "The soft term must be averaged over examples (reduction='batchmean'), not summed.",
        _with_soft(lambda s, t, y, T, a: _soft(s, t, y, T, a) * s.shape[0]),
    ),
    Mistake(
        "no_t_squared",
        "T² factor missing",
        "The soft term must be multiplied by T² so its gradients keep their size as T changes (Hinton et al.).",
        _with_soft(lambda s, t, y, T, a: _soft(s, t, y, T, a) / (T * T)),
    ),
    Mistake(
        "t_not_squared",
        "multiplied by T instead of T²",
        "The soft term is scaled by T squared, not by T.",
        _with_soft(lambda s, t, y, T, a: _soft(s, t, y, T, a) / T),
    ),
    Mistake(
        "temperature_teacher_only",
        "temperature applied to the teacher only",
        "Teacher and student logits must both be divided by the same temperature T.",
        _with_soft(lambda s, t, y, T, a: T * T * _kl_rows(F.log_softmax(t / T, -1), F.log_softmax(s, -1)).mean()),
    ),
    Mistake(
        "temperature_student_only",
        "temperature applied to the student only",
        "Teacher and student logits must both be divided by the same temperature T.",
        _with_soft(lambda s, t, y, T, a: T * T * _kl_rows(F.log_softmax(t, -1), F.log_softmax(s / T, -1)).mean()),
    ),
    Mistake(
        "temperature_ignored",
        "temperature not applied to the logits",
        "Both softmaxes in the soft term use logits divided by T.",
        _with_soft(lambda s, t, y, T, a: T * T * _kl_rows(F.log_softmax(t, -1), F.log_softmax(s, -1)).mean()),
    ),
    Mistake(
        "soft_cross_entropy",
        "soft-target cross-entropy instead of KL",
        "-sum p_teacher * log q_student differs from the KL divergence by the teacher's entropy: the "
        "gradients match but the loss value asked for here is the KL.",
        _with_soft(lambda s, t, y, T, a: T * T * (-(F.softmax(t / T, -1) * F.log_softmax(s / T, -1)).sum(-1)).mean()),
    ),
    Mistake(
        "alpha_swapped",
        "alpha on the wrong term",
        "On this platform alpha weights the soft (teacher) term and 1 - alpha the hard-label term "
        "(some libraries, like torchdistill, do the opposite).",
        lambda s, t, y, T, a: (1 - a) * _soft(s, t, y, T, a) + a * F.cross_entropy(s, y),
    ),
    Mistake(
        "alpha_ignored",
        "alpha not applied",
        "The loss is alpha * soft + (1 - alpha) * hard, not the plain sum of the two terms.",
        lambda s, t, y, T, a: _soft(s, t, y, T, a) + F.cross_entropy(s, y),
    ),
    Mistake(
        "hard_term_with_temperature",
        "temperature applied to the hard-label loss",
        "The cross-entropy with the true labels uses the student's raw logits (T = 1).",
        lambda s, t, y, T, a: a * _soft(s, t, y, T, a) + (1 - a) * F.cross_entropy(s / T, y),
    ),
)
MISTAKES_BY_KEY = {m.key: m for m in MISTAKES}
NOT_DETACHED = (
    "teacher not detached",
    "Gradient flowed into the teacher's logits. The teacher is fixed during distillation: use "
    "teacher_logits.detach() (or compute its softmax under torch.no_grad()).",
)
UNSTABLE = (
    "numerically unstable softmax",
    "With large logits, computing torch.log(torch.softmax(x)) or exp() by hand overflows or underflows to "
    "NaN/inf. Use F.log_softmax, which subtracts the maximum first.",
)


# --------------------------------------------------------------------------- inputs


@dataclass
class ProbeInputs:
    probe: Probe
    student: torch.Tensor
    teacher: torch.Tensor
    labels: torch.Tensor


def draw_inputs(seed: int) -> list[ProbeInputs]:
    gen = torch.Generator().manual_seed(seed)
    drawn = []
    for probe in PROBES:
        shape = (probe.batch, probe.classes)
        teacher = torch.randn(shape, generator=gen, dtype=torch.float64) * probe.scale
        # The student is a noisy copy of the teacher plus a skew: close enough to be realistic,
        # different enough that KL direction and temperature mistakes show up in the value.
        student = 0.6 * teacher + torch.randn(shape, generator=gen, dtype=torch.float64) * probe.scale * 0.8
        labels = torch.randint(0, probe.classes, (probe.batch,), generator=gen)
        drawn.append(ProbeInputs(probe, student.float(), teacher.float(), labels))
    return drawn


def _cases(drawn: list[ProbeInputs]) -> list[dict]:
    return [
        {
            "student_logits": d.student.clone(),
            "teacher_logits": d.teacher.clone(),
            "labels": d.labels.clone(),
            "temperature": d.probe.temperature,
            "alpha": d.probe.alpha,
            "__grad__": ["student_logits"],
            "__watch_grad__": ["teacher_logits"],
        }
        for d in drawn
    ]


def _expected(d: ProbeInputs, formula: Formula = reference) -> float:
    s, t = d.student.double(), d.teacher.double()
    return float(formula(s, t, d.labels, d.probe.temperature, d.probe.alpha))


def _expected_grad(d: ProbeInputs) -> torch.Tensor:
    s = d.student.double().requires_grad_(True)
    reference(s, d.teacher.double(), d.labels, d.probe.temperature, d.probe.alpha).backward()
    return s.grad


def _close(got: float, want: float) -> bool:
    return math.isfinite(got) and abs(got - want) <= REL_TOL * abs(want) + ABS_TOL


# --------------------------------------------------------------------------- checks


def _scalar_value(case: CaseOutput) -> float | None:
    t = case.result
    if case.result_type != "Tensor" or t is None or t.dim() != 0 or not t.is_floating_point():
        return None
    return float(t.double())


def _shape_problem(case: CaseOutput) -> str | None:
    if not case.ok:
        return None
    if case.result_type != "Tensor" or case.result is None:
        return f"returned a {case.result_type or 'nothing'}, expected a plain torch.Tensor"
    t = case.result
    if t.dim() != 0:
        return f"returned a tensor of shape {tuple(t.shape)}, expected a 0-dim (scalar) tensor"
    if not t.is_floating_point():
        return f"returned dtype {str(t.dtype).removeprefix('torch.')}, expected a floating-point tensor"
    return None


def _diagnose(drawn: list[ProbeInputs], values: list[float | None]) -> Mistake | None:
    """The first known mistake whose float64 value matches the submission on every ordinary probe."""
    ordinary = [(d, v) for d, v in zip(drawn, values, strict=True) if d.probe.kind != "large"]
    if any(v is None for _, v in ordinary):
        return None
    for mistake in MISTAKES:
        if all(_close(v, _expected(d, mistake.formula)) for d, v in ordinary):  # type: ignore[arg-type]
            return mistake
    return None


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def evaluate(drawn: list[ProbeInputs], result: SandboxResult) -> tuple[list[Check], list[str]]:
    cases = result.cases
    checks: list[Check] = []
    mistakes: list[str] = []

    errors = [(d, c) for d, c in zip(drawn, cases, strict=True) if not c.ok]
    if errors:
        d, c = errors[0]
        tb = (c.error or {}).get("traceback", "").strip()
        checks.append(Check("runs", False, f"Your function raised an error on a {d.probe.describe()}:\n{tb}"))
    else:
        checks.append(Check("runs", True, f"Ran on all {len(drawn)} hidden inputs without an error."))

    shape_issues = [(d, p) for d, c in zip(drawn, cases, strict=True) if (p := _shape_problem(c))]
    if shape_issues:
        d, problem = shape_issues[0]
        checks.append(Check("returns_scalar_tensor", False, f"On a {d.probe.describe()} your function {problem}."))
    elif errors:
        checks.append(Check("returns_scalar_tensor", False, "Not checked: your function raised an error."))
    else:
        checks.append(Check("returns_scalar_tensor", True, "Returns a 0-dim floating-point torch.Tensor."))

    values = [_scalar_value(c) if c.ok else None for c in cases]
    diagnosis = _diagnose(drawn, values)

    def value_check(name: str, kinds: tuple[str, ...], what: str) -> Check:
        for d, v in zip(drawn, values, strict=True):
            if d.probe.kind not in kinds:
                continue
            if v is None:
                return Check(name, False, f"Not checked on a {d.probe.describe()}: no scalar tensor result.")
            want = _expected(d)
            if _close(v, want):
                continue
            msg = f"Wrong {what} on a {d.probe.describe()}: expected {_fmt(want)}, got {_fmt(v)}."
            if not math.isfinite(v):
                msg = f"Got {v} on a {d.probe.describe()} (expected {_fmt(want)})."
                if d.probe.kind == "large":
                    msg += f" Likely mistake: {UNSTABLE[0]}. {UNSTABLE[1]}"
                    if UNSTABLE[0] not in mistakes:
                        mistakes.append(UNSTABLE[0])
            elif diagnosis is not None:
                msg += f" Likely mistake: {diagnosis.title}. {diagnosis.explanation}"
            return Check(name, False, msg)
        return Check(name, True, f"Correct {what} on every hidden input.")

    checks.append(value_check("soft_term", ("soft",), "loss with alpha=1 (soft term only)"))
    checks.append(value_check("hard_term", ("hard",), "loss with alpha=0 (hard-label term only)"))
    checks.append(value_check("combined", ("combined",), "combined loss"))
    checks.append(value_check("large_logits", ("large",), "loss with large logits"))
    if diagnosis is not None:
        mistakes.insert(0, diagnosis.title)

    finite_bad = [(d, v) for d, v in zip(drawn, values, strict=True) if v is not None and not math.isfinite(v)]
    if finite_bad:
        d, v = finite_bad[0]
        checks.append(Check("finite", False, f"Returned {v} on a {d.probe.describe()}; the loss must be finite."))
    elif any(v is None for v in values):
        checks.append(Check("finite", False, "Not checked on every input: no scalar tensor result."))
    else:
        checks.append(Check("finite", True, "No NaN or inf, even with logits in the hundreds."))

    checks.append(_gradient_check(drawn, cases))
    teacher_check = _teacher_check(drawn, cases)
    if not teacher_check.passed and cases and any(c.grads.get("teacher_logits") is not None for c in cases):
        mistakes.append(NOT_DETACHED[0])
    checks.append(teacher_check)
    checks.append(_inputs_check(drawn, cases))
    return checks, mistakes


def _gradient_check(drawn: list[ProbeInputs], cases: list[CaseOutput]) -> Check:
    for d, c in zip(drawn, cases, strict=True):
        if d.probe.kind == "large":
            continue
        where = f"on a {d.probe.describe()}"
        if not c.ok or c.result_type != "Tensor":
            return Check("gradient", False, f"Not checked {where}: no tensor result.")
        if c.backward == "skipped_not_scalar":
            return Check("gradient", False, f"Not checked {where}: the result is not a scalar.")
        grad = c.grads.get("student_logits")
        if c.backward == "no_grad_fn" or grad is None:
            return Check(
                "gradient",
                False,
                f"No gradient reached student_logits {where}: the loss must be built from student_logits "
                "with torch operations (no .item(), .detach(), numpy or torch.tensor(...) on the student "
                "side).",
            )
        want = _expected_grad(d)
        if grad.shape != want.shape or not grad.is_floating_point():
            return Check("gradient", False, f"Gradient w.r.t. student_logits has the wrong shape {where}.")
        got = grad.double()
        tol = 1e-3 * want.abs().max().item() + 1e-7
        if not torch.isfinite(got).all() or (got - want).abs().max().item() > tol:
            idx = int((got - want).abs().flatten().argmax())
            return Check(
                "gradient",
                False,
                f"Wrong gradient w.r.t. student_logits {where}: element {idx} expected "
                f"{_fmt(want.flatten()[idx].item())}, got {_fmt(got.flatten()[idx].item())}.",
            )
    return Check("gradient", True, "Gradient w.r.t. student_logits matches the reference.")


def _teacher_check(drawn: list[ProbeInputs], cases: list[CaseOutput]) -> Check:
    for d, c in zip(drawn, cases, strict=True):
        if c.ok and c.grads.get("teacher_logits") is not None:
            return Check(
                "teacher_no_gradient",
                False,
                f"On a {d.probe.describe()}: {NOT_DETACHED[0]}. {NOT_DETACHED[1]}",
            )
    if not cases or all(not c.ok for c in cases):
        return Check("teacher_no_gradient", False, "Not checked: your function did not return a result.")
    return Check("teacher_no_gradient", True, "No gradient reaches the teacher's logits.")


def _inputs_check(drawn: list[ProbeInputs], cases: list[CaseOutput]) -> Check:
    originals = {"student_logits": "student", "teacher_logits": "teacher", "labels": "labels"}
    for d, c in zip(drawn, cases, strict=True):
        for arg, attr in originals.items():
            after = c.inputs_after.get(arg)
            before: torch.Tensor = getattr(d, attr)
            if after is None or after.dtype != before.dtype or after.shape != before.shape:
                return Check("inputs_unchanged", False, f"{arg} came back altered on a {d.probe.describe()}.")
            if not torch.equal(after, before):
                return Check(
                    "inputs_unchanged",
                    False,
                    f"Your function modified {arg} in place on a {d.probe.describe()}; compute new tensors "
                    "instead (e.g. x / T rather than x.div_(T)).",
                )
    if not cases or all(not c.ok for c in cases):
        # A function that never returns earns nothing for leaving its inputs alone.
        return Check("inputs_unchanged", False, "Not checked: your function did not return a result.")
    return Check("inputs_unchanged", True, "Inputs are not modified in place.")


# --------------------------------------------------------------------------- entry point


def _failed(checks: list[Check], timings: dict, device: str, feedback: str, status: str = "failed") -> GradeResult:
    return GradeResult(status=status, score=0.0, checks=checks, timings=timings, device=device, feedback=feedback)  # type: ignore[arg-type]


@register(SLUG)
def grade_submission(
    code: str,
    *,
    device: str = "cpu",
    limits: Limits | None = None,
    seed: int | None = None,
    prewarmed: PrewarmedSandbox | None = None,
) -> GradeResult:
    started = time.monotonic()
    seed = secrets.randbits(63) if seed is None else seed
    drawn = draw_inputs(seed)
    try:
        result = run_cases(
            code,
            entrypoint=ENTRYPOINT,
            cases=_cases(drawn),
            limits=limits,
            device=device,
            prewarmed=prewarmed,
        )
    except SandboxUnavailable as exc:
        raise GradingInfrastructureError(str(exc)) from exc
    sandbox_done = time.monotonic()
    timings = {
        "sandbox_startup_seconds": result.startup_seconds,
        "sandbox_run_seconds": result.wall_seconds,
    }

    def finish_timings() -> dict:
        now = time.monotonic()
        return timings | {
            "checks_seconds": round(now - sandbox_done, 3),
            "total_seconds": round(now - started, 3),
        }

    if result.status == "timeout":
        msg = result.message or "Your code took too long."
        return _failed([Check("runs", False, msg)], finish_timings(), device, msg, status="timeout")
    if result.status == "error":
        tb = ((result.error or {}).get("traceback") or "").strip()
        msg = f"Your code could not be loaded:\n{tb}" if tb else "Your code could not be loaded."
        if "entrypoint" in msg or "has no attribute 'distillation_loss'" in msg:
            msg += "\nDefine a function named distillation_loss."
        return _failed([Check("runs", False, msg)], finish_timings(), device, msg)
    if result.status != "ok":
        msg = result.message or "Your code did not finish."
        return _failed([Check("runs", False, msg)], finish_timings(), device, msg)

    checks, mistakes = evaluate(drawn, result)
    passed = sum(c.passed for c in checks)
    score = passed / len(checks)
    if passed == len(checks):
        feedback = "All checks passed: your distillation loss matches the reference on every hidden input."
        status = "passed"
    else:
        first = next(c for c in checks if not c.passed)
        lead = f"Likely mistake: {mistakes[0]}. " if mistakes else ""
        feedback = f"{lead}{passed} of {len(checks)} checks passed. First failing check, {first.name}: {first.message}"
        status = "failed"
    return GradeResult(
        status=status,  # type: ignore[arg-type]
        score=round(score, 4),
        checks=checks,
        timings=finish_timings(),
        device=device,
        feedback=feedback,
        mistakes=mistakes,
    )
