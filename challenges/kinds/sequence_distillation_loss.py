"""Kind ``sequence-distillation-loss``: token-level distillation over padded batches of sequences.

The learner writes ``sequence_distillation_loss(student_logits, teacher_logits, attention_mask, temperature)``
for logits of shape (batch, length, vocab) and a 0/1 mask of shape (batch, length): T² · KL(softmax(t/T) ‖
softmax(s/T)) per token, averaged over the real (mask = 1) tokens only.

Masks are contiguous spans anywhere in a row (a masked prompt before, padding after), as int64, bool or
float. Probes cover ragged rows, rows with a single real token, rows with no padding, a vocabulary of
32,000, and logits in the hundreds. Every ragged probe comes with two variants whose real tokens are the
same: one with fresh, larger logits at the padded positions, one padded to a longer length. The reference
gives all three the same value, so the kind checks that the learner's does too, and that no gradient reaches
a padded position.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from challenges.kinds import kind_info
from challenges.kinds.grader import Check, Mistake, fmt
from challenges.kinds.loss import Candidate, Combined, FormulaMistake, LossDrawn, LossKind, Probe, ValueGroup, close
from workers.sandbox import CaseOutput

LONGER_BY = 5


@dataclass(frozen=True)
class Shape:
    group: str  # ragged | single | vocab | large
    spans: tuple[tuple[int, int], ...]  # (first real token, number of real tokens) per row
    length: int
    vocab: int
    temperature: float
    scale: float
    mask_dtype: torch.dtype

    def describe(self, length: int, variant: str = "") -> str:
        real = ", ".join(str(n) for _, n in self.spans)
        dtype = str(self.mask_dtype).removeprefix("torch.")
        rows = "1 sequence" if len(self.spans) == 1 else f"{len(self.spans)} sequences"
        size = " with logits in the hundreds" if self.group == "large" else ""
        return (
            f"a batch of {rows} of length {length} (real tokens per row: {real}), vocabulary {self.vocab:,}, "
            f"T={self.temperature:g}, {dtype} mask{size}{variant}"
        )


SHAPES: tuple[Shape, ...] = (
    Shape("ragged", ((0, 7), (0, 4), (0, 1)), 7, 50, 1.0, 3.0, torch.int64),
    Shape("ragged", ((2, 5), (0, 3), (1, 6), (4, 2)), 8, 20, 2.0, 3.0, torch.bool),
    Shape("ragged", ((0, 6), (3, 3)), 6, 11, 0.5, 2.0, torch.float32),
    Shape("ragged", ((0, 5), (0, 5)), 5, 30, 4.0, 2.5, torch.int64),  # no padding at all
    Shape("single", ((0, 1), (3, 1), (5, 1)), 6, 40, 1.5, 3.0, torch.int64),  # one real token per row
    Shape("single", ((2, 1),), 4, 25, 1.0, 3.0, torch.bool),
    Shape("vocab", ((0, 6), (1, 3)), 6, 32_000, 2.0, 2.0, torch.int64),
    Shape("large", ((0, 4), (0, 2)), 4, 30, 1.0, 150.0, torch.int64),
    Shape("large", ((1, 3),), 5, 50, 0.5, 100.0, torch.float32),
)

# Shown to learners ("Run on examples"), from a fixed seed: a ragged batch with its two re-padded variants
# (the loss must not change) and a single-token row. None of them is a hidden draw.
EXAMPLE_SEED = 2024
EXAMPLE_SHAPES: tuple[Shape, ...] = (
    Shape("ragged", ((0, 4), (0, 2)), 4, 6, 2.0, 2.0, torch.int64),
    Shape("single", ((1, 1),), 3, 5, 1.0, 2.0, torch.bool),
)


@dataclass(frozen=True)
class SequenceProbe(Probe):
    base: int | None = None  # the probe this one re-pads
    variant: str = ""  # "" | "new_padding" | "longer"


# --------------------------------------------------------------------------- float64 formulas


def _kl(log_p: torch.Tensor, log_q: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """KL(p || q) from log-probabilities, summed over ``dim``."""
    return (log_p.exp() * (log_p - log_q)).sum(dim)


def _per_token(s: torch.Tensor, t: torch.Tensor, T: float) -> torch.Tensor:
    """KL(softmax(t/T) || softmax(s/T)) at every position, shape (batch, length)."""
    return _kl(F.log_softmax(t / T, -1), F.log_softmax(s / T, -1))


def _soft_cross_entropy(s: torch.Tensor, t: torch.Tensor, T: float) -> torch.Tensor:
    """-sum softmax(t/T) * log_softmax(s/T) at every position: the KL plus the teacher's entropy."""
    return -(F.softmax(t / T, -1) * F.log_softmax(s / T, -1)).sum(-1)


JSD_BETA = 0.5  # GKD's (and TRL's GKDTrainer's) default


def _jsd(s: torch.Tensor, t: torch.Tensor, T: float) -> torch.Tensor:
    """The generalised Jensen-Shannon divergence of GKD at every position: beta * KL(p || m) + (1 - beta) *
    KL(q || m) with the mixture m = beta * p + (1 - beta) * q (p the teacher's distribution, q the student's)."""
    log_p, log_q = F.log_softmax(t / T, -1), F.log_softmax(s / T, -1)
    log_m = torch.logsumexp(torch.stack([log_q + math.log(1 - JSD_BETA), log_p + math.log(JSD_BETA)]), 0)
    return JSD_BETA * _kl(log_p, log_m) + (1 - JSD_BETA) * _kl(log_q, log_m)


def _real_mean(per_token: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.double()
    return (per_token * m).sum() / m.sum()


def _sequence_means(per_token: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.double()
    return ((per_token * m).sum(-1) / m.sum(-1)).mean()


def _masked_logits(s, t, mask, T) -> torch.Tensor:
    m = mask.double()[..., None]
    return T * T * _per_token(s * m, t * m, T).mean()


def _softmax_over_sequence(s, t, mask, T) -> torch.Tensor:
    """A (batch, classes) loss applied as is to (batch, length, vocab): softmax over dim 1, the KL summed over it,
    the mean over the rest (mdistiller's kd_loss on sequences)."""
    return T * T * _kl(F.log_softmax(t / T, 1), F.log_softmax(s / T, 1), 1).mean()


# The loss has four parts, each of which real code gets wrong: the divergence of each token, the temperature,
# the T² factor and how the tokens are averaged. A mistake is one part done wrong; candidates are every way of
# getting one to four parts wrong together (below), simplest first.
PerToken = Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]
Reduction = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]  # per token, mask, student logits

DIVERGENCES: dict[str, PerToken] = {
    "swapped_kl": lambda s, t, T: _per_token(t, s, T),
    "soft_cross_entropy": _soft_cross_entropy,
    "generalized_jsd": _jsd,
}
REDUCTIONS: dict[str, Reduction] = {
    "mean_over_padding": lambda tok, m, s: tok.mean(),
    "batch_size_only": lambda tok, m, s: (tok * m.double()).sum() / s.shape[0],
    "mean_over_vocabulary": lambda tok, m, s: _real_mean(tok, m) / s.shape[-1],
    "mean_of_sequence_means": lambda tok, m, s: _sequence_means(tok, m),
}


@dataclass(frozen=True)
class Composed:
    """A loss made of its four parts: a per-token divergence (at T, or at 1 when the temperature is ignored),
    a reduction over the tokens (the mean over real tokens when None), and T² or not."""

    divergence: PerToken = _per_token
    reduction: Reduction | None = None
    temperature: bool = True
    t_squared: bool = True

    def per_token(self, s: torch.Tensor, t: torch.Tensor, T: float) -> torch.Tensor:
        return self.divergence(s, t, T if self.temperature else 1.0)

    def finish(self, per_token: torch.Tensor, s: torch.Tensor, mask: torch.Tensor, T: float) -> torch.Tensor:
        value = self.reduction(per_token, mask, s) if self.reduction else _real_mean(per_token, mask)
        return T * T * value if self.t_squared else value

    def __call__(self, s, t, mask, T) -> torch.Tensor:
        return self.finish(self.per_token(s, t, T), s, mask, T)


reference = Composed()  # every part right: T² · KL per token, averaged over the real tokens


MISTAKES: tuple[FormulaMistake, ...] = (
    FormulaMistake(
        "mean_over_padding",
        "averaged over padding tokens too",
        "The mean ran over every position, padded ones included, so the loss changes with the padding. Multiply "
        "the per-token KL by the mask and divide by the number of real tokens, mask.sum().",
        Composed(reduction=REDUCTIONS["mean_over_padding"]),
    ),
    FormulaMistake(
        "batch_size_only",
        "divided by the batch size only",
        "Summing the masked per-token KL and dividing by the batch size makes the loss grow with the length of "
        "the sequences; divide by the number of real tokens, mask.sum(), instead.",
        Composed(reduction=REDUCTIONS["batch_size_only"]),
    ),
    FormulaMistake(
        "masked_logits",
        "logits masked instead of the per-token loss",
        "Multiplying the logits by the mask does not remove a padded position: it turns its logits into zeros, "
        "which still have a distribution and still count in the average. Mask the per-token loss instead.",
        _masked_logits,
    ),
    FormulaMistake(
        "no_t_squared",
        "T² factor missing",
        "Multiply the averaged KL by T² so its gradients keep their size as T changes, as in the classification loss.",
        Composed(t_squared=False),
    ),
    FormulaMistake(
        "swapped_kl",
        "KL direction swapped",
        "F.kl_div(input, target) computes KL(target ‖ input): the teacher's distribution is the target and the "
        "student's log-probabilities the input. You computed KL(student ‖ teacher).",
        Composed(DIVERGENCES["swapped_kl"]),
    ),
    FormulaMistake(
        "mean_over_vocabulary",
        "KL averaged over the vocabulary",
        "The KL of one token sums over the vocabulary; reduction='mean' (or .mean(-1)) also divides it by the "
        "vocabulary size.",
        Composed(reduction=REDUCTIONS["mean_over_vocabulary"]),
    ),
    FormulaMistake(
        "mean_of_sequence_means",
        "averaged per sequence, then over sequences",
        "You averaged the per-token KL within each sequence and then averaged those means, so a token of a short "
        "sequence weighs more than one of a long sequence. The loss is the mean over all real tokens of the batch: "
        "sum the masked per-token KL over the whole batch and divide once by mask.sum().",
        Composed(reduction=REDUCTIONS["mean_of_sequence_means"]),
    ),
    FormulaMistake(
        "temperature_ignored",
        "temperature not applied to the logits",
        "Divide both the student's and the teacher's logits by T before the softmax.",
        Composed(temperature=False),
    ),
    FormulaMistake(
        "soft_cross_entropy",
        "soft-target cross-entropy instead of KL",
        "Per token you computed -Σ p_teacher · log q_student (as the KD losses of OpenRLHF and LMOps do). It differs "
        "from the KL by the teacher's entropy: the gradients are the same, but the loss asked for here is the KL, "
        "which is zero when the student matches the teacher. Subtract the teacher's entropy, or use F.kl_div.",
        Composed(DIVERGENCES["soft_cross_entropy"]),
    ),
    FormulaMistake(
        "generalized_jsd",
        "Jensen–Shannon divergence instead of the forward KL",
        f"Your loss matches the generalised Jensen–Shannon divergence with β = {JSD_BETA:g}, GKD's default (TRL's "
        "GKDTrainer): each distribution compared with their mixture. It is a sound loss for on-policy "
        "distillation, but the loss asked for here is the forward KL(teacher ‖ student), what GKD gives at β = 0.",
        Composed(DIVERGENCES["generalized_jsd"]),
    ),
    FormulaMistake(
        "softmax_over_sequence_axis",
        "softmax over the sequence axis instead of the vocabulary",
        "log_softmax(..., dim=1) on logits of shape (batch, length, vocab) normalises over the positions of a "
        "sequence, not over the vocabulary: a loss written for (batch, classes) logits, applied as is. Take the "
        "softmax over the last axis (dim=-1), the KL per token, and the mean over the real tokens only.",
        _softmax_over_sequence,
    ),
)


def _combined() -> tuple[Combined, ...]:
    """Every way of getting two to four of the loss's parts wrong together (a wrong divergence, a wrong
    reduction, the temperature ignored, T² missing), fewest first; and the two whole-loss mistakes (logits
    masked, softmax over the sequence axis) with T² missing as well."""
    by_key = {m.key: m for m in MISTAKES}
    options = (
        [None, *DIVERGENCES],
        [None, *REDUCTIONS],
        [None, "temperature_ignored"],
        [None, "no_t_squared"],
    )
    found = []
    for divergence, reduction, temperature, t_squared in itertools.product(*options):
        keys = tuple(k for k in (divergence, reduction, temperature, t_squared) if k)
        if len(keys) < 2:
            continue
        formula = Composed(
            DIVERGENCES[divergence] if divergence else _per_token,
            REDUCTIONS[reduction] if reduction else None,
            temperature=not temperature,
            t_squared=not t_squared,
        )
        found.append(Combined(tuple(by_key[k] for k in keys), formula))
    found.sort(key=lambda c: len(c.parts))
    for key in ("masked_logits", "softmax_over_sequence_axis"):
        whole = by_key[key]
        found.append(
            Combined((whole, by_key["no_t_squared"]), lambda s, t, m, T, f=whole.formula: f(s, t, m, T) / (T * T))
        )
    return tuple(found)


COMBINED = _combined()
SWAPPED_ARGUMENTS = Mistake(
    "kl_div_arguments_swapped",
    "probabilities and log-probabilities swapped in kl_div",
    "Your loss is NaN on every batch, small logits included: what F.kl_div (or nn.KLDivLoss) returns when its "
    "first argument is the teacher's probabilities and its second the student's log-probabilities. The target "
    "(second argument) is then negative, and its log is NaN. Pass F.log_softmax(student_logits / T) first and "
    "F.softmax(teacher_logits / T) second.",
)
UNSTABLE = Mistake(
    "unstable_log_softmax",
    "numerically unstable softmax",
    "With large logits or a large vocabulary, torch.log(torch.softmax(x)) underflows to log(0) = -inf and the "
    "loss turns into NaN or inf. Use F.log_softmax, which subtracts the maximum first.",
)


class SequenceDistillationLoss(LossKind):
    info = kind_info("sequence-distillation-loss")
    groups = (
        ValueGroup("ragged", "ragged_batches", "loss on ragged batches"),
        ValueGroup("single", "single_token_rows", "loss with single-token rows"),
        ValueGroup("vocab", "large_vocabulary", "loss with a 32,000-token vocabulary"),
        ValueGroup("large", "large_logits", "loss with large logits"),
    )
    mistakes = MISTAKES
    combined = COMBINED
    unstable = UNSTABLE
    swapped_arguments = SWAPPED_ARGUMENTS
    passed_text = (
        "All checks passed: your sequence loss matches the reference on every hidden batch, and padding has no "
        "effect on it."
    )

    def reference(self, *args) -> torch.Tensor:
        return reference(*args)

    def candidate_values(self, d: LossDrawn, candidates: list[Candidate]) -> list[float | None]:
        """As the base class's, with each per-token divergence computed once per probe and temperature: the 83
        candidates share 8 of them (the 32,000-token probe made this most of the diagnosis's cost)."""
        s, t, mask, T = self._args64(d)
        shared: dict[tuple[PerToken, bool], torch.Tensor] = {}
        values: list[float | None] = []
        for candidate in candidates:
            formula = candidate.formula
            try:
                if isinstance(formula, Composed):
                    key = (formula.divergence, formula.temperature)
                    if key not in shared:
                        shared[key] = formula.per_token(s, t, T)
                    values.append(float(formula.finish(shared[key], s, mask, T)))
                else:
                    values.append(float(formula(s, t, mask, T)))
            except (RuntimeError, ValueError, ZeroDivisionError):
                values.append(None)
        return values

    def example_inputs(self) -> list[tuple[SequenceProbe, dict]]:
        return self.draw_inputs(EXAMPLE_SEED, EXAMPLE_SHAPES)

    def draw_inputs(self, seed: int, shapes: tuple[Shape, ...] = SHAPES) -> list[tuple[SequenceProbe, dict]]:
        gen = torch.Generator().manual_seed(seed)
        drawn: list[tuple[SequenceProbe, dict]] = []
        for shape in shapes:
            batch, length, vocab = len(shape.spans), shape.length, shape.vocab
            teacher = torch.randn((batch, length, vocab), generator=gen, dtype=torch.float64) * shape.scale
            noise = torch.randn((batch, length, vocab), generator=gen, dtype=torch.float64)
            student = 0.6 * teacher + noise * shape.scale * 0.8
            mask = torch.zeros((batch, length), dtype=torch.bool)
            for row, (first, count) in enumerate(shape.spans):
                mask[row, first : first + count] = True
            base = len(drawn)
            drawn.append((self._probe(shape, length), self._inputs(student, teacher, mask, shape)))
            if shape.group != "ragged" or bool(mask.all()):
                continue
            # The same real tokens with fresh, wilder logits where the mask is 0...
            pad = ~mask[..., None]
            wild_t = torch.randn(teacher.shape, generator=gen, dtype=torch.float64) * shape.scale * 3
            wild_s = torch.randn(student.shape, generator=gen, dtype=torch.float64) * shape.scale * 3
            inputs = self._inputs(torch.where(pad, wild_s, student), torch.where(pad, wild_t, teacher), mask, shape)
            drawn.append((self._probe(shape, length, base, "new_padding"), inputs))
            # ...and padded to a longer length.
            extra = (batch, LONGER_BY, vocab)
            longer_t = torch.cat([teacher, torch.randn(extra, generator=gen, dtype=torch.float64) * shape.scale], 1)
            longer_s = torch.cat([student, torch.randn(extra, generator=gen, dtype=torch.float64) * shape.scale], 1)
            longer_mask = torch.cat([mask, torch.zeros((batch, LONGER_BY), dtype=torch.bool)], 1)
            inputs = self._inputs(longer_s, longer_t, longer_mask, shape)
            drawn.append((self._probe(shape, length + LONGER_BY, base, "longer"), inputs))
        return drawn

    @staticmethod
    def _probe(shape: Shape, length: int, base: int | None = None, variant: str = "") -> SequenceProbe:
        suffix = {"": "", "new_padding": ", new padded logits", "longer": f", padded {LONGER_BY} longer"}[variant]
        return SequenceProbe(
            shape.group, shape.describe(length, suffix), diagnose=shape.group != "large", base=base, variant=variant
        )

    @staticmethod
    def _inputs(student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor, shape: Shape) -> dict:
        return {
            "student_logits": student.float(),
            "teacher_logits": teacher.float(),
            "attention_mask": mask.to(shape.mask_dtype),
            "temperature": shape.temperature,
        }

    def extra_checks(self, drawn: list[LossDrawn], outputs: list[CaseOutput], values: list[float | None]) -> list:
        return [
            self._invariance(drawn, values, "new_padding", "padding_ignored", "changing the padded logits"),
            self._invariance(drawn, values, "longer", "length_invariant", f"padding {LONGER_BY} positions longer"),
            self._padded_gradients(drawn, outputs),
        ]

    def _invariance(self, drawn, values, variant: str, name: str, what: str) -> Check:
        for d, v in zip(drawn, values, strict=True):
            if d.probe.variant != variant:
                continue
            base = drawn[d.probe.base]
            before = values[d.probe.base]
            if before is None or v is None:
                return Check(name, False, f"Not checked on {base.describe()}: no scalar tensor result.")
            if not close(v, before):
                return Check(
                    name,
                    False,
                    f"On {base.describe()}, {what} changed your loss from {fmt(before)} to {fmt(v)}; padded "
                    "positions must have no effect.",
                )
        return Check(name, True, f"The loss is the same after {what}.")

    def _padded_gradients(self, drawn: list[LossDrawn], outputs: list[CaseOutput]) -> Check:
        for d, out in zip(drawn, outputs, strict=True):
            grad = out.grads.get(self.student)
            if not out.ok or grad is None or grad.shape != d.inputs[self.student].shape:
                return Check("padded_gradients_zero", False, f"Not checked on {d.describe()}: no gradient came back.")
            padded = d.inputs["attention_mask"] == 0
            leak = grad.double()[padded].abs()
            if leak.numel() and not (torch.isfinite(leak).all() and leak.max().item() <= 1e-12):
                return Check(
                    "padded_gradients_zero",
                    False,
                    f"On {d.describe()}, gradient reached padded positions of student_logits (up to "
                    f"{fmt(leak.max().item())}); mask the per-token loss so they get exactly zero.",
                )
        return Check("padded_gradients_zero", True, "Padded positions receive exactly zero gradient.")


KIND = SequenceDistillationLoss()
