"""Kind ``distillation-loss``: the classic two-term distillation loss on (batch, classes) logits.

The learner writes ``distillation_loss(student_logits, teacher_logits, labels, temperature, alpha)``
returning alpha * T^2 * KL(softmax(t/T) || softmax(s/T)) (batch mean) + (1 - alpha) * CE(s, labels).

Probes are chosen so that each mistake differs from the right answer on at least one of them by far more
than float32 noise: at T=4 a swapped KL is within 0.5% of the right value (fact sheet §2), so there are
T=1, T=0.5 and T=2 probes with skewed logits, and alpha=1 / alpha=0 probes that isolate the soft and the
hard term.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from challenges.kinds import kind_info
from challenges.kinds.grader import Mistake
from challenges.kinds.loss import Combined, Formula, FormulaMistake, LossKind, Probe, ValueGroup


@dataclass(frozen=True)
class Shape:
    group: str  # soft | hard | combined | large
    batch: int
    classes: int
    temperature: float
    alpha: float
    scale: float

    def probe(self) -> Probe:
        examples = "1 example" if self.batch == 1 else f"batch of {self.batch}"
        size = " with logits in the hundreds" if self.group == "large" else ""
        description = f"a {examples}, {self.classes} classes, T={self.temperature:g}, alpha={self.alpha:g}{size}"
        return Probe(self.group, description, diagnose=self.group != "large")


SHAPES: tuple[Shape, ...] = (
    Shape("soft", 3, 5, 1.0, 1.0, 3.0),
    Shape("soft", 4, 10, 2.0, 1.0, 3.0),
    Shape("soft", 2, 7, 0.5, 1.0, 2.0),
    Shape("hard", 5, 6, 3.0, 0.0, 3.0),
    Shape("hard", 1, 4, 0.5, 0.0, 2.0),
    Shape("combined", 3, 1000, 4.0, 0.7, 2.0),
    Shape("combined", 1, 2, 0.5, 0.3, 2.0),
    Shape("combined", 6, 3, 1.0, 0.6, 3.0),
    Shape("combined", 16, 100, 2.5, 0.5, 1.5),
    Shape("large", 4, 50, 1.0, 0.7, 150.0),
    Shape("large", 2, 20, 0.5, 1.0, 100.0),
)

# Shown to learners ("Run on examples"), from a fixed seed: small enough to read, none of the hidden draws.
EXAMPLE_SEED = 2024
EXAMPLE_SHAPES: tuple[Shape, ...] = (
    Shape("combined", 2, 3, 2.0, 0.5, 2.0),
    Shape("soft", 3, 4, 3.0, 1.0, 3.0),  # T != 1, so that T² missing at alpha = 1 shows in the examples too
    Shape("hard", 2, 5, 1.0, 0.0, 2.0),
)


# --------------------------------------------------------------------------- float64 formulas


def _kl_rows(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """KL(p || q) per row from log-probabilities, float64."""
    return (log_p.exp() * (log_p - log_q)).sum(-1)


def reference(s: torch.Tensor, t: torch.Tensor, y: torch.Tensor, T: float, alpha: float) -> torch.Tensor:
    soft = T * T * _kl_rows(F.log_softmax(t / T, -1), F.log_softmax(s / T, -1)).mean()
    return alpha * soft + (1 - alpha) * F.cross_entropy(s, y)


def _with_soft(soft_fn: Formula) -> Formula:
    def loss(s: torch.Tensor, t: torch.Tensor, y: torch.Tensor, T: float, alpha: float) -> torch.Tensor:
        return alpha * soft_fn(s, t, y, T, alpha) + (1 - alpha) * F.cross_entropy(s, y)

    return loss


def _soft(s: torch.Tensor, t: torch.Tensor, y: torch.Tensor, T: float, alpha: float) -> torch.Tensor:
    return T * T * _kl_rows(F.log_softmax(t / T, -1), F.log_softmax(s / T, -1)).mean()


# The soft term as each of these mistakes computes it (T² kept): a mistake alone, or with a wrong scale.
SOFT_TERMS: dict[str, Formula] = {
    "swapped_kl": lambda s, t, y, T, a: T * T * _kl_rows(F.log_softmax(s / T, -1), F.log_softmax(t / T, -1)).mean(),
    "probs_not_log_probs": lambda s, t, y, T, a: (
        T * T * (F.softmax(t / T, -1) * (F.log_softmax(t / T, -1) - F.softmax(s / T, -1))).sum(-1).mean()
    ),
    "temperature_teacher_only": lambda s, t, y, T, a: (
        T * T * _kl_rows(F.log_softmax(t / T, -1), F.log_softmax(s, -1)).mean()
    ),
    "temperature_student_only": lambda s, t, y, T, a: (
        T * T * _kl_rows(F.log_softmax(t, -1), F.log_softmax(s / T, -1)).mean()
    ),
    "temperature_ignored": lambda s, t, y, T, a: T * T * _kl_rows(F.log_softmax(t, -1), F.log_softmax(s, -1)).mean(),
    "soft_cross_entropy": lambda s, t, y, T, a: (
        T * T * (-(F.softmax(t / T, -1) * F.log_softmax(s / T, -1)).sum(-1)).mean()
    ),
    "squared_error": lambda s, t, y, T, a: T * T * ((F.softmax(t / T, -1) - F.softmax(s / T, -1)) ** 2).mean(),
}


MISTAKES: tuple[FormulaMistake, ...] = (
    FormulaMistake(
        "swapped_kl",
        "KL direction swapped",
        "F.kl_div(input, target) computes KL(target || input-distribution); the teacher's probabilities "
        "are the target and the student's log-probabilities the input. You computed KL(student || teacher).",
        _with_soft(SOFT_TERMS["swapped_kl"]),
    ),
    FormulaMistake(
        "probs_not_log_probs",
        "probabilities passed where log-probabilities belong",
        "F.kl_div expects its input as log-probabilities (F.log_softmax), but you passed softmax "
        "probabilities; the 'KL' can even come out negative.",
        _with_soft(SOFT_TERMS["probs_not_log_probs"]),
    ),
    FormulaMistake(
        "reduction_mean",
        "reduction='mean' instead of 'batchmean'",
        "reduction='mean' divides by batch size x number of classes, which is not the KL divergence; "
        "use reduction='batchmean' (sum over classes, mean over examples).",
        _with_soft(lambda s, t, y, T, a: _soft(s, t, y, T, a) / s.shape[-1]),
    ),
    FormulaMistake(
        "reduction_sum",
        "KL summed over the batch instead of averaged",
        "The soft term must be averaged over examples (reduction='batchmean'), not summed.",
        _with_soft(lambda s, t, y, T, a: _soft(s, t, y, T, a) * s.shape[0]),
    ),
    FormulaMistake(
        "no_t_squared",
        "T² factor missing",
        "The soft term must be multiplied by T² so its gradients keep their size as T changes (Hinton et al.).",
        _with_soft(lambda s, t, y, T, a: _soft(s, t, y, T, a) / (T * T)),
    ),
    FormulaMistake(
        "t_not_squared",
        "multiplied by T instead of T²",
        "The soft term is scaled by T squared, not by T.",
        _with_soft(lambda s, t, y, T, a: _soft(s, t, y, T, a) / T),
    ),
    FormulaMistake(
        "temperature_teacher_only",
        "temperature applied to the teacher only",
        "Teacher and student logits must both be divided by the same temperature T.",
        _with_soft(SOFT_TERMS["temperature_teacher_only"]),
    ),
    FormulaMistake(
        "temperature_student_only",
        "temperature applied to the student only",
        "Teacher and student logits must both be divided by the same temperature T.",
        _with_soft(SOFT_TERMS["temperature_student_only"]),
    ),
    FormulaMistake(
        "temperature_ignored",
        "temperature not applied to the logits",
        "Both softmaxes in the soft term use logits divided by T.",
        _with_soft(SOFT_TERMS["temperature_ignored"]),
    ),
    FormulaMistake(
        "soft_cross_entropy",
        "soft-target cross-entropy instead of KL",
        "-sum p_teacher * log q_student differs from the KL divergence by the teacher's entropy: the "
        "gradients match but the loss value asked for here is the KL.",
        _with_soft(SOFT_TERMS["soft_cross_entropy"]),
    ),
    FormulaMistake(
        "squared_error",
        "squared error of the softened probabilities instead of KL",
        "Your soft term is the mean squared difference between the teacher's and the student's softened "
        "probabilities (nn.MSELoss, as KD_Lib's VanillaKD uses by default). It is zero when they match, like the "
        "KL, but it is another quantity, averaged over the classes too, and its gradients vanish where a "
        "probability is near 0 or 1. The soft term is T²·KL(teacher ‖ student): F.kl_div(F.log_softmax(s / T), "
        "F.softmax(t / T), reduction='batchmean').",
        _with_soft(SOFT_TERMS["squared_error"]),
    ),
    FormulaMistake(
        "alpha_swapped",
        "alpha on the wrong term",
        "On this platform alpha weights the soft (teacher) term and 1 - alpha the hard-label term "
        "(some libraries, like torchdistill, do the opposite).",
        lambda s, t, y, T, a: (1 - a) * _soft(s, t, y, T, a) + a * F.cross_entropy(s, y),
    ),
    FormulaMistake(
        "alpha_ignored",
        "alpha not applied",
        "The loss is alpha * soft + (1 - alpha) * hard, not the plain sum of the two terms.",
        lambda s, t, y, T, a: _soft(s, t, y, T, a) + F.cross_entropy(s, y),
    ),
    FormulaMistake(
        "hard_term_with_temperature",
        "temperature applied to the hard-label loss",
        "The cross-entropy with the true labels uses the student's raw logits (T = 1).",
        lambda s, t, y, T, a: a * _soft(s, t, y, T, a) + (1 - a) * F.cross_entropy(s / T, y),
    ),
)
SWAPPED_ARGUMENTS = Mistake(
    "kl_div_arguments_swapped",
    "probabilities and log-probabilities swapped in kl_div",
    "Your loss is NaN on every input, small logits included: what F.kl_div (or nn.KLDivLoss) returns when its "
    "first argument is the teacher's probabilities and its second the student's log-probabilities. The target "
    "(second argument) is then negative, and its log is NaN. Pass F.log_softmax(student_logits / T) first and "
    "F.softmax(teacher_logits / T) second.",
)


def _scaled(soft_fn: Formula, *factors: Callable[[torch.Tensor, float], float]) -> Formula:
    def soft(s: torch.Tensor, t: torch.Tensor, y: torch.Tensor, T: float, alpha: float) -> torch.Tensor:
        value = soft_fn(s, t, y, T, alpha)
        for factor in factors:
            value = value * factor(s, T)
        return value

    return _with_soft(soft)


REDUCTION_SCALES: dict[str, Callable[[torch.Tensor, float], float]] = {
    "reduction_mean": lambda s, T: 1 / s.shape[-1],
    "reduction_sum": lambda s, T: s.shape[0],
}
TEMPERATURE_SCALES: dict[str, Callable[[torch.Tensor, float], float]] = {
    "no_t_squared": lambda s, T: 1 / (T * T),
    "t_not_squared": lambda s, T: 1 / T,
}


def _combined() -> tuple[Combined, ...]:
    """Two mistakes of the soft term made together: a wrong reduction and a wrong T factor, or either of them on
    top of a wrong KL (direction, temperature, probabilities, cross-entropy)."""
    by_key = {m.key: m for m in MISTAKES}
    scales = REDUCTION_SCALES | TEMPERATURE_SCALES
    pairs = [
        ((r, t), _scaled(_soft, rf, tf)) for r, rf in REDUCTION_SCALES.items() for t, tf in TEMPERATURE_SCALES.items()
    ]
    pairs += [((k, f), _scaled(soft, scales[f])) for k, soft in SOFT_TERMS.items() for f in scales]
    return tuple(Combined(tuple(by_key[k] for k in keys), formula) for keys, formula in pairs)


COMBINED = _combined()
UNSTABLE = Mistake(
    "unstable_log_softmax",
    "numerically unstable softmax",
    "With large logits, computing torch.log(torch.softmax(x)) or exp() by hand overflows or underflows to "
    "NaN/inf. Use F.log_softmax, which subtracts the maximum first.",
)


class DistillationLoss(LossKind):
    info = kind_info("distillation-loss")
    groups = (
        ValueGroup("soft", "soft_term", "loss with alpha=1 (soft term only)"),
        ValueGroup("hard", "hard_term", "loss with alpha=0 (hard-label term only)"),
        ValueGroup("combined", "combined", "combined loss"),
        ValueGroup("large", "large_logits", "loss with large logits"),
    )
    mistakes = MISTAKES
    combined = COMBINED
    unstable = UNSTABLE
    swapped_arguments = SWAPPED_ARGUMENTS
    passed_text = "All checks passed: your distillation loss matches the reference on every hidden input."

    def reference(self, *args) -> torch.Tensor:
        return reference(*args)

    def example_inputs(self) -> list[tuple[Probe, dict]]:
        return self.draw_inputs(EXAMPLE_SEED, EXAMPLE_SHAPES)

    def draw_inputs(self, seed: int, shapes: tuple[Shape, ...] = SHAPES) -> list[tuple[Probe, dict]]:
        gen = torch.Generator().manual_seed(seed)
        drawn = []
        for shape in shapes:
            size = (shape.batch, shape.classes)
            teacher = torch.randn(size, generator=gen, dtype=torch.float64) * shape.scale
            # The student is a noisy copy of the teacher plus a skew: close enough to be realistic,
            # different enough that KL direction and temperature mistakes show up in the value.
            student = 0.6 * teacher + torch.randn(size, generator=gen, dtype=torch.float64) * shape.scale * 0.8
            labels = torch.randint(0, shape.classes, (shape.batch,), generator=gen)
            inputs = {
                "student_logits": student.float(),
                "teacher_logits": teacher.float(),
                "labels": labels,
                "temperature": shape.temperature,
                "alpha": shape.alpha,
            }
            drawn.append((shape.probe(), inputs))
        return drawn


KIND = DistillationLoss()
