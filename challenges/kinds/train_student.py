"""Kind ``train-student``: train the fixed 64→32→10 student on the digits, scored on a hidden test set.

The learner writes ``train_student(student, teacher, transfer_x, labeled_x, labeled_y, device)`` that trains
``student`` in place and returns its training curve (the loss per step). The platform fixes the rest:

* **Data**: scikit-learn's bundled handwritten digits with the content's split (``challenges.digits``):
  5 labelled images per class (chosen per submission), the rest of the training split as the unlabelled
  transfer set, and the 540 test images, which never enter the sandbox.
* **A secret per-submission transform** of every image the student sees and is tested on: the 64 pixels
  shuffled by a random permutation, a random sign flip per pixel, and Gaussian noise (sigma 0.05) drawn
  fresh per image. An MLP learns from it exactly as well (its first layer absorbs a permutation and signs),
  the teacher is adapted exactly (its first layer's columns permuted and flipped), and an image the
  sandbox sees no longer equals the public file's, so the public split's labels cannot simply be looked up.
  The sandbox never sees scikit-learn's data files, wherever a bind would show them (``workers.sandbox.layout``).
* **The teacher** (``digits.train_teacher(0)``) is trained once per machine and code version, kept on disk
  (``tensor_cache``) and in memory per worker process; it enters the sandbox frozen, in eval mode. **The
  student** starts from weights drawn here from the seed.
* **Verdict**: the trained parameters come back as safetensors; the trusted side loads them with
  ``strict=True`` into its own ``digits.Student`` (exact names, shapes, float32, finite: anything else is a
  failed check) and measures test accuracy and top-1 agreement with the teacher on the hidden test set,
  beside the same student trained on the 50 labels alone under the same transform. A run that failed (the
  function raised, or handed back no usable parameters) is not evaluated further: its verdict is the
  grader's, naming the exception, with every later check "Not checked".
* **The curve is advice.** The returned training curve is the learner's own report, so it decides nothing:
  ``returns_curve`` is an advisory check (a missing or malformed curve is a tip, "return the losses to see
  your curve"), and what the curve shows only picks the named mistake (:func:`_diagnose`): a loss below
  zero or NaN, with its first step; for a student below a bar, a curve still falling at the end
  (under-trained) told apart from a student agreeing with the teacher no more than the labels-only
  baseline (the soft targets unused). "Run on examples" gives the same diagnosis.

**Run on examples** (:func:`draw_example`) runs the same function, in the same sandbox, on one fixed public
draw built like a hidden one from a visible split of the training images: 200 validation images (20 per
class) held out, its own teacher trained on the rest, 50 labelled and 1,007 transfer images from the rest.
It reports the student's accuracy and teacher agreement on those 200 images beside the thresholds and the
labels-only baseline; the hidden test set is never used, so the examples cannot reveal the grade's data.

Thresholds (``min_accuracy`` 0.92, ``min_agreement`` 0.95, options in challenge.yaml) come from 20 seeds of
the reference distillation against the labels-only baseline at sigma 0.05 (docs/challenges.md): the
reference's worst run is 95.6% / 97.6%, the baseline's best 87.0% / 87.0%.

A submission can still embed the public digits in its code and, with real effort, undo the transform
statistically. It then knows labels the teacher was never shown; ``no_outside_labels`` catches what that
buys: a student well above its teacher's accuracy, or one that avoids the teacher's own mistakes, did not
learn by distillation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cache
from importlib.metadata import version as package_version
from typing import Any

import torch
import torch.nn.functional as F

from challenges import digits
from challenges.kinds import kind_info, tensor_cache
from challenges.kinds.grader import (
    ChallengeKind,
    Check,
    Drawn,
    Evaluation,
    ExampleFindings,
    GradingTarget,
    Mistake,
    opening,
    runs_check,
    tips,
    trusted_work,
)
from workers.sandbox import Case, CaseOutput, ModuleSpec, StateDictResult

NOISE_SIGMA = 0.05
MIN_ACCURACY = 0.92
MIN_AGREEMENT = 0.95
# A distilled student has nothing to learn from but the teacher and 50 labels: over 160 reference runs it
# never beat the teacher by more than 0.4 points, and it repeated at least 68% of the teacher's mistakes.
MAX_ABOVE_TEACHER = 0.02
MIN_MISTAKES_COPIED = 0.4
SERIES_MAX = 5000
# "Run on examples" (draw_example): one fixed, public draw. torch's generators keep only the low 32 bits of a
# seed, so a seed "outside the hidden range" would separate nothing; the example's data does (see there).
EXAMPLE_SEED = 2024
VALIDATION_PER_CLASS = 20  # 200 validation images, held out of the 1,257 training images
CURVE_POINTS = 300  # the curve kept on the verdict, downsampled evenly
# What the returned curve can tell about a student that fell short (it is the learner's own report, so it
# names mistakes and never decides the verdict). Measured with bench-like runs on seeds 0, 11 and 2026
# (docs/challenges.md): the reference's full-batch curve falls by 0.1% of its range between its last two
# tenths at 150 steps and 0.04% at 300; loops stopped early (10 to 40 full-batch steps, 3 to 10 epochs of
# minibatches, a learning rate ten times too low) by 1.2% to 16%; the labels-only loop by 0.01%.
STILL_FALLING = 0.01  # of the curve's range, between the mean of its last tenth and of the tenth before
FEW_STEPS = 50  # the reference takes 300 full-batch steps; at 40 it reaches about 90% accuracy
# A loss a float32 KL divergence of two equal distributions can round to; anything lower is no KL or CE.
LOSS_FLOOR = -1e-4
# A student that learned from the 50 labels alone agrees with the teacher like the labels-only baseline:
# the labels-only loop lands within 0.3 points of it; one that used the teacher, even under-trained, above.
LABELS_ONLY_AGREEMENT = 0.02
LABELS_ONLY_ACCURACY = 0.04
# A curve that climbed back up for good: training diverged. On the means of its tenths, a loop with no
# optimizer.zero_grad() fell to 3-7 and ended at 11 to 2,400, far above its lowest tenth; correct curves end at
# their lowest tenth, and a noisy minibatch curve that barely learns (soft targets paired with the wrong images)
# wobbles within 5% of it.
DIVERGED_RATIO = 1.5  # the last tenth's mean against the lowest earlier tenth's
DIVERGED_RISE = 0.25  # and that rise against the range of the tenths' means
# How closely the student follows the teacher (mean KL(teacher || student) at T = 1) on the 50 labelled images
# and on the transfer images. Distilled on transfer_x, a student follows the teacher on both alike (0.006-0.04);
# distilled on the labelled images only, almost exactly there (0.000-0.01) and far less on the transfer images
# it never saw (0.13-0.27); trained on the labels alone, on neither (0.04-0.09 and 0.38-0.56).
LABELLED_FIT_KL = 0.02
TRANSFER_FIT_KL = 0.1

STUDENT_LAYERS = (("hidden", digits.NUM_FEATURES, 32), ("out", 32, digits.NUM_CLASSES))
TEACHER_LAYERS = (("0", digits.NUM_FEATURES, 256), ("3", 256, 256), ("6", 256, digits.NUM_CLASSES))

NOT_TRAINED = Mistake(
    "not_trained",
    "student not trained",
    "The student's parameters came back exactly as they were given: train `student` itself, in place "
    "(its own parameters in the optimizer), rather than a copy or a new model.",
)
LABELS_ONLY = Mistake(
    "labels_only",
    "the teacher's soft targets were not used",
    "Your student scores like one trained on the 50 labels alone. Most of what the teacher knows is in its "
    "outputs on the unlabelled transfer images, over twenty times as many as the labelled ones: add the soft term, "
    "T²·KL(teacher ‖ student) on transfer_x, to the hard-label loss.",
)
DIVERGED = Mistake(
    "diverged",
    "training diverged: the loss climbed back up",
    "A loss that rises for good after falling means the steps grew too large. The usual cause is a missing "
    "optimizer.zero_grad(): backward() adds each step's gradients to those already stored, so without zeroing "
    "them every step applies the sum of all the past gradients. A learning rate far too large does the same: "
    "call optimizer.zero_grad() before each loss.backward(), and if the curve still climbs, lower the rate.",
)
SOFT_ON_LABELLED_ONLY = Mistake(
    "soft_targets_labelled_only",
    "the teacher's soft targets used on the 50 labelled images only",
    "Your student copies the teacher's outputs on the labelled images almost exactly, but not on the transfer "
    "images: the soft term was computed on labeled_x, the batch the hard term uses. Most of what the teacher "
    "knows is in its outputs on the unlabelled transfer_x, over twenty times as many images: compute the soft "
    "term, T²·KL(teacher ‖ student), on transfer_x.",
)
UNDER_TRAINED = Mistake(
    "under_trained",
    "the student was not trained long enough",
    "Your training stopped before the student had learned what the teacher shows it. Train for more steps "
    "(the reference takes 300 full-batch steps of Adam at lr 1e-2), or with a larger learning rate, until the "
    "curve flattens out.",
)
NEGATIVE_LOSS = Mistake(
    "negative_loss",
    "the training loss went below zero",
    "A KL divergence and a cross-entropy are never negative, so what your loop minimised is not the "
    "distillation loss. Check F.kl_div's argument order (input: the student's log-probabilities, "
    "log_softmax(student_logits / T); target: the teacher's probabilities, softmax(teacher_logits / T)) and "
    "that no term is subtracted: the soft and hard terms are added.",
)
NAN_LOSS = Mistake(
    "nan_loss",
    "the training loss became NaN",
    "Once a loss is NaN or infinite, every later step trains on garbage. The usual cause is the log of zero "
    "or of a negative number: F.kl_div's target must be probabilities (softmax), not log-probabilities "
    "(unless log_target=True), and log_softmax is safe where log(softmax(...)) is not. A learning rate far "
    "too large can also make the loss diverge.",
)
OUTSIDE_LABELS = Mistake(
    "outside_labels",
    "trained on labels the teacher never gave",
    "Your student knows things neither the teacher nor the 50 labels could have told it. The challenge is to "
    "distill the teacher: learn from its outputs on transfer_x and the labelled set only.",
)


SPLIT_NAMES = ("x_train", "y_train", "x_test", "y_test")


def _cache_parts() -> tuple[str, ...]:
    """What the split and the teachers depend on besides torch, numpy and the CPU (``tensor_cache`` adds those):
    the code that makes them (``challenges.digits``, and this module for the examples' split), and
    scikit-learn, whose bundled data and splitter give the split."""
    return (
        f"digits={tensor_cache.source_digest(digits.__file__)}",
        f"kind={tensor_cache.source_digest(__file__)}",
        f"scikit-learn={package_version('scikit-learn')}",
    )


def _check_split(tensors: dict[str, torch.Tensor]) -> None:
    for x, y in (("x_train", "y_train"), ("x_test", "y_test")):
        images, labels = tensors[x], tensors[y]
        if images.dtype != torch.float32 or labels.dtype != torch.int64 or images.dim() != 2:
            raise ValueError(f"{x}/{y} have the wrong dtypes or rank")
        if images.shape != (labels.numel(), digits.NUM_FEATURES):
            raise ValueError(f"{x} has shape {tuple(images.shape)}")


@cache
def _split() -> tuple[torch.Tensor, ...]:
    """The digits split, from the disk cache when it holds this code's; ``digits.load_split`` otherwise."""
    tensors = tensor_cache.cached_tensors(
        "digits-split", _cache_parts(), lambda: dict(zip(SPLIT_NAMES, digits.load_split(), strict=True)), _check_split
    )
    return tuple(tensors[name] for name in SPLIT_NAMES)


def _load_teacher(state: dict[str, torch.Tensor]) -> torch.nn.Module:
    teacher = digits.make_teacher()
    teacher.load_state_dict(state, strict=True)
    teacher.eval()
    return teacher


def _cached_teacher(name: str, images: tuple[torch.Tensor, torch.Tensor]) -> torch.nn.Module:
    """``digits.train_teacher(0, images)``, read back from the disk cache when this code already trained it here.

    The training is deterministic (one thread, deterministic kernels, a fixed seed), and the cache's key holds
    everything that could change its result, so the weights read back are bit for bit the ones this process
    would train: a cache hit cannot change a verdict.
    """
    state = tensor_cache.cached_tensors(
        name, _cache_parts(), lambda: digits.train_teacher(0, images=images).state_dict(), _load_teacher
    )
    return _load_teacher(state)


@cache
def _teacher() -> torch.nn.Module:
    """Trained once per machine and code version (about a second of CPU), then reused by every process."""
    x_train, y_train, _, _ = _split()
    return _cached_teacher("digits-teacher", (x_train, y_train))


@cache
def _validation_split() -> tuple[torch.Tensor, torch.Tensor]:
    """The examples' visible validation split: VALIDATION_PER_CLASS training images per class, and the rest."""
    return digits.labelled_subset(_split()[1], VALIDATION_PER_CLASS, seed=EXAMPLE_SEED)


@cache
def _example_teacher() -> torch.nn.Module:
    """The examples' teacher: the same recipe, trained on the training split without the validation images."""
    x_train, y_train, _, _ = _split()
    _, rest = _validation_split()
    return _cached_teacher("digits-example-teacher", (x_train[rest], y_train[rest]))


def _state_of(module: torch.nn.Module, layers) -> dict[str, torch.Tensor]:
    """A module's Linear layers renamed to ``layers`` (same order), as float32 CPU tensors."""
    linears = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
    state = {}
    for (name, _, _), linear in zip(layers, linears, strict=True):
        state[f"{name}.weight"] = linear.weight.detach().float().clone()
        state[f"{name}.bias"] = linear.bias.detach().float().clone()
    return state


@dataclass
class Hidden:
    """What the trusted side keeps from the draw; none of it enters the sandbox."""

    # The images the trained student is scored on, transformed like the learner's: the hidden test set
    # when grading, the visible validation split for "Run on examples".
    x_eval: torch.Tensor
    y_eval: torch.Tensor
    teacher: torch.nn.Module  # adapted to the transform
    x_labelled: torch.Tensor
    y_labelled: torch.Tensor
    initial: dict[str, torch.Tensor]
    labelled: torch.Tensor  # indices into the training split: the labelled images
    transfer: torch.Tensor  # and the unlabelled transfer images
    x_transfer: torch.Tensor  # those transfer images as the learner gets them


@dataclass
class TrainDrawn(Drawn):
    case: Case
    hidden: Hidden

    def describe(self) -> str:
        return "the digits training set"


@dataclass
class ExampleDrawn(TrainDrawn):
    validation: torch.Tensor  # indices into the training split: the visible validation images

    def describe(self) -> str:
        return "the example digits"

    def describe_split(self) -> str:
        h = self.hidden
        return (
            f"The example draw: {h.labelled.numel()} labelled images ({digits.LABELS_PER_CLASS} per class) and "
            f"{h.transfer.numel():,} unlabelled transfer images from the public digits training split; the "
            f"trained student is scored on {self.validation.numel()} validation images held out of that split, "
            "which neither it nor this example's teacher trained on."
        )


def _transform(x: torch.Tensor, perm: torch.Tensor, signs: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    return signs * x[:, perm] + NOISE_SIGMA * torch.randn(x.shape, generator=gen)


def draw_task(seed: int) -> tuple[dict[str, Any], Hidden]:
    """The learner's arguments and what stays hidden, both from ``seed``; scored on the hidden test set."""
    x_train, y_train, x_test, y_test = _split()
    labelled, unlabelled = digits.labelled_subset(y_train, digits.LABELS_PER_CLASS, seed=seed % (2**62))
    return _task(seed, labelled, unlabelled, (x_test, y_test), _teacher())


def _task(
    seed: int,
    labelled: torch.Tensor,
    transfer: torch.Tensor,
    scored_on: tuple[torch.Tensor, torch.Tensor],
    source_teacher: torch.nn.Module,
) -> tuple[dict[str, Any], Hidden]:
    """The learner's arguments from the training images ``labelled`` and ``transfer`` (indices), and what
    stays outside: the images ``scored_on``, transformed alike, the teacher adapted to the transform, and
    the student's start. Grading and the examples differ only in these arguments."""
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(digits.NUM_FEATURES, generator=gen)
    signs = torch.randint(0, 2, (digits.NUM_FEATURES,), generator=gen).float() * 2 - 1
    x_train, y_train, _, _ = _split()

    teacher = digits.make_teacher()
    teacher.load_state_dict(source_teacher.state_dict())
    with torch.no_grad():
        first = teacher[0]
        # teacher'(signs * x[:, perm]) == teacher(x): permute and flip the first layer's input columns.
        first.weight.copy_(first.weight[:, perm] * signs)
    teacher.eval()

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed % (2**62))
        initial = digits.Student().state_dict()
    initial = {name: value.detach().clone() for name, value in initial.items()}

    x_labelled = _transform(x_train[labelled], perm, signs, gen)
    x_transfer = _transform(x_train[transfer], perm, signs, gen)
    args = {
        "student": ModuleSpec(STUDENT_LAYERS, dict(initial), trainable=True),
        "teacher": ModuleSpec(TEACHER_LAYERS, _state_of(teacher, TEACHER_LAYERS), trainable=False),
        "transfer_x": x_transfer,
        "labeled_x": x_labelled,
        "labeled_y": y_train[labelled].clone(),
    }
    x_eval, y_eval = scored_on
    hidden = Hidden(
        x_eval=_transform(x_eval, perm, signs, gen),
        y_eval=y_eval,
        teacher=teacher,
        x_labelled=x_labelled,
        y_labelled=y_train[labelled].clone(),
        initial=initial,
        labelled=labelled,
        transfer=transfer,
        x_transfer=x_transfer,
    )
    return args, hidden


def draw_example() -> tuple[dict[str, Any], Hidden, torch.Tensor]:
    """The one visible example: the learner's arguments, what stays outside, and the validation indices.

    Its data makes it none of the hidden draws, whatever the seeds: the validation images are taken out of
    the training split first, so its transfer set has 1,007 images where every hidden draw's has 1,207, its
    50 labelled images come from the rest, and it is scored on the validation images, which neither the
    student nor this example's own teacher (trained on the rest alone) has seen. The hidden test set
    enters neither the example nor its teacher.
    """
    x_train, y_train, _, _ = _split()
    validation, rest = _validation_split()
    labelled, transfer = digits.labelled_subset(y_train[rest], digits.LABELS_PER_CLASS, seed=EXAMPLE_SEED)
    args, hidden = _task(
        EXAMPLE_SEED, rest[labelled], rest[transfer], (x_train[validation], y_train[validation]), _example_teacher()
    )
    return args, hidden, validation


def _references(hidden: Hidden) -> tuple[torch.Tensor, float, float, float]:
    """The teacher's answers on the scored images, its accuracy, and the labels-only baseline's two scores."""
    teacher_predictions = digits.predict(hidden.teacher, hidden.x_eval)
    teacher_accuracy = (teacher_predictions == hidden.y_eval).float().mean().item()
    baseline_accuracy, baseline_agreement = _scores(_baseline(hidden), hidden, teacher_predictions)
    return teacher_predictions, teacher_accuracy, baseline_accuracy, baseline_agreement


@cache
def _example_references() -> tuple[torch.Tensor, float, float, float]:
    """:func:`_references` for the one example draw, once per process. That draw is fixed (its seed, data and
    noise are EXAMPLE_SEED's), so its teacher answers and labels-only baseline are the same for every run."""
    with trusted_work():
        _, hidden, _ = draw_example()
        return _references(hidden)


def _untrained(out: CaseOutput, hidden: Hidden) -> bool:
    return all(torch.equal(out.state[name], hidden.initial[name]) for name in hidden.initial)


def _series(out: CaseOutput) -> list[float]:
    """The returned training curve, every step of it (empty when none came back as a list of numbers)."""
    if not out.ok or out.result_type != "series" or out.result is None:
        return []
    return out.result.tolist()


def _impossible_loss(values: list[float]) -> Mistake | None:
    """The first step whose loss no KL divergence or cross-entropy can take (below zero, NaN or infinite)."""
    for index, value in enumerate(values):
        where = f"step {index + 1:,} of {len(values):,} (losses[{index}])"
        if not math.isfinite(value):
            shown = "NaN" if math.isnan(value) else "infinite"
            return replace(
                NAN_LOSS,
                explanation=f"Your training curve is {shown} from {where} on, its first value that is not a "
                f"finite number. {NAN_LOSS.explanation}",
            )
        if value < LOSS_FLOOR:
            lowest = min(v for v in values if math.isfinite(v))
            return replace(
                NEGATIVE_LOSS,
                explanation=f"Your training curve reads {value:.4g} at {where}, its first value below zero "
                f"(lowest {lowest:.4g}). {NEGATIVE_LOSS.explanation}",
            )
    return None


def _tail_drop(values: list[float]) -> float | None:
    """How much the loss still fell at the end: the mean of the curve's second-to-last tenth minus that of its
    last tenth, as a fraction of the curve's whole range (None for a curve too short, flat or not finite).
    Means over tenths, so that a noisy minibatch curve is judged by its trend, not its last batch."""
    width = len(values) // 10
    if width < 1 or not all(math.isfinite(v) for v in values):
        return None
    span = max(values) - min(values)
    if span <= 0:
        return None
    before, last = values[-2 * width : -width], values[-width:]
    return (sum(before) / width - sum(last) / width) / span


def _like_labels_only(accuracy: float, agreement: float, baseline_accuracy: float, baseline_agreement: float) -> bool:
    """Scores like the same student trained on the 50 labels alone: agreeing with the teacher no more than that
    baseline does (a student that learned from the teacher at all, even too briefly, agrees more) at about
    its accuracy (a student far below the baseline did not learn even the labels: something else is wrong)."""
    return (
        agreement <= baseline_agreement + LABELS_ONLY_AGREEMENT
        and abs(accuracy - baseline_accuracy) < LABELS_ONLY_ACCURACY
    )


@dataclass(frozen=True)
class Scored:
    """A trained student's two scores beside the bars and the labels-only baseline's, on one set of images."""

    accuracy: float
    agreement: float
    baseline_accuracy: float
    baseline_agreement: float
    min_accuracy: float
    min_agreement: float

    @property
    def meets_both(self) -> bool:
        return self.accuracy >= self.min_accuracy and self.agreement >= self.min_agreement


def _climbed(values: list[float]) -> Mistake | None:
    """The curve rose for good after falling, judged on the means of its tenths (so that a noisy minibatch curve
    is judged by its trend): the last tenth's mean is DIVERGED_RATIO times the lowest earlier tenth's or more,
    and that rise is DIVERGED_RISE of the tenths' range or more."""
    width = len(values) // 10
    if width < 1 or not all(math.isfinite(v) for v in values):
        return None
    means = [sum(values[i * width : (i + 1) * width]) / width for i in range(10)]
    end = sum(values[-width:]) / width
    lowest = min(range(9), key=means.__getitem__)
    span = max(*means, end) - means[lowest]
    rise = end - means[lowest]
    if span <= 0 or rise < DIVERGED_RISE * span or end < DIVERGED_RATIO * means[lowest]:
        return None
    first = f"{means[0]:.4g} (the mean of your first {width:,} steps)"
    fell = f"fell from {first} to {means[lowest]:.4g} (steps {lowest * width + 1:,} to {(lowest + 1) * width:,}), then "
    return replace(
        DIVERGED,
        explanation=f"Your loss {fell if lowest else f'started at {first} and '}climbed to {end:.4g} (your last "
        f"{width:,} steps). {DIVERGED.explanation}",
    )


@dataclass(frozen=True)
class Fit:
    """How closely the student follows the teacher (mean KL(teacher ‖ student) at T = 1) on the labelled images
    and on the transfer images."""

    labelled: float
    transfer: float

    @classmethod
    def of(cls, student: torch.nn.Module, hidden: Hidden) -> Fit:
        with torch.no_grad():
            kls = []
            for x in (hidden.x_labelled, hidden.x_transfer):
                log_p = F.log_softmax(hidden.teacher(x), -1)
                log_q = F.log_softmax(student(x), -1)
                kls.append((log_p.exp() * (log_p - log_q)).sum(-1).mean().item())
        return cls(*kls)

    @property
    def labelled_only(self) -> bool:
        return self.labelled <= LABELLED_FIT_KL and self.transfer >= TRANSFER_FIT_KL


def _shortfall(values: list[float], scored: Scored, fit: Fit) -> Mistake | None:
    """Why a student that fell short of a bar did, from evidence, in this order: a curve that climbed back up
    (training diverged); a curve still falling when training stopped (under-trained, whatever it learned
    from); a student agreeing with the teacher no more than the labels-only baseline (the soft targets
    unused); one that follows the teacher on the labelled images only (soft targets on the wrong batch); a
    curve of very few steps (under-trained)."""
    if scored.meets_both:
        return None
    if climbed := _climbed(values):
        return climbed
    drop = _tail_drop(values)
    steps = len(values)
    if drop is not None and drop > STILL_FALLING:
        tenth = steps // 10
        return replace(
            UNDER_TRAINED,
            explanation=f"Your loss was still falling when training stopped: its mean over the last {tenth:,} of "
            f"your {steps:,} steps is {drop:.1%} of the curve's whole range below the mean over the {tenth:,} "
            f"before them. {UNDER_TRAINED.explanation}",
        )
    if _like_labels_only(scored.accuracy, scored.agreement, scored.baseline_accuracy, scored.baseline_agreement):
        return replace(
            LABELS_ONLY,
            explanation=f"{LABELS_ONLY.explanation} Your student agrees with the teacher on "
            f"{_pct(scored.agreement)} of the images, no more than the same student trained on the 50 labels "
            f"alone ({_pct(scored.baseline_agreement)}), at about its accuracy ({_pct(scored.accuracy)} against "
            f"{_pct(scored.baseline_accuracy)}).",
        )
    if fit.labelled_only:
        return replace(
            SOFT_ON_LABELLED_ONLY,
            explanation=f"{SOFT_ON_LABELLED_ONLY.explanation} Mean KL(teacher ‖ student) at T = 1: {fit.labelled:.3f} "
            f"on the labelled images, {fit.transfer:.3f} on the transfer images.",
        )
    if 0 < steps < FEW_STEPS:
        return replace(
            UNDER_TRAINED,
            explanation=f"Your training curve has only {steps:,} steps, where the reference takes 300. "
            f"{UNDER_TRAINED.explanation}",
        )
    return None


def _diagnose(
    out: CaseOutput, hidden: Hidden, student: torch.nn.Module, scored: Scored, outside_labels: bool = False
) -> list[Mistake]:
    """The mistakes a trained student's run shows, most likely first; grading and the examples both use it.

    A student handed back untouched, a loss no distillation loss can take, and labels from outside are
    named whatever the scores; why a student fell short of a bar (:func:`_shortfall`) only when nothing
    before explains it. The curve is the learner's own report: it names mistakes, never decides a check."""
    values = _series(out)
    mistakes = []
    if _untrained(out, hidden):
        mistakes.append(NOT_TRAINED)
    if impossible := _impossible_loss(values):
        mistakes.append(impossible)
    if outside_labels:
        mistakes.append(OUTSIDE_LABELS)
    if not mistakes and (shortfall := _shortfall(values, scored, Fit.of(student, hidden))):
        mistakes.append(shortfall)
    if scored.meets_both and not outside_labels:
        # Nothing failed for it to explain: a tip after the verdict, not its cause.
        mistakes = [replace(m, advisory=True) for m in mistakes]
    return mistakes


def _advice(mistakes: list[Mistake], note: Check) -> str:
    """An example row's advice in grading's words and order (``grader.decide``): the mistakes that would
    decide, named; then, as tips, a missing or malformed curve and the advisory mistakes."""
    return " ".join(part for part in (opening(mistakes, ""), *tips([note], mistakes)) if part)


def _curve_note(out: CaseOutput) -> Check:
    """Advice, not a check that counts: a curve is how the learner sees their training, but the student
    is what is graded, so a missing or malformed one costs nothing."""
    if not out.ok:
        return Check("returns_curve", False, "Not checked: your function did not return a result.", advisory=True)
    if out.result_type != "series":
        returned = "None" if out.result_type == "NoneType" else f"a {out.result_type}"
        message = (
            f"train_student returned {returned}, not a training curve; return the losses to see your curve: the "
            f"list of loss values, one per step (at most {SERIES_MAX:,}), e.g. losses.append(loss.item())."
        )
        return Check("returns_curve", False, message, advisory=True)
    if out.result.numel() == 0:
        message = "The training curve is empty; return the losses to see your curve: append each step's loss."
        return Check("returns_curve", False, message, advisory=True)
    return Check("returns_curve", True, f"Returned a training curve of {out.result.numel():,} steps.", advisory=True)


def _input_summary(name: str, value: Any) -> dict[str, Any]:
    if isinstance(value, torch.Tensor):
        return {"name": name, "shape": list(value.shape), "dtype": str(value.dtype).removeprefix("torch.")}
    if isinstance(value, ModuleSpec):
        sizes = "→".join(str(n) for n in (value.layers[0][1], *(fan_out for _, _, fan_out in value.layers)))
        count = sum(math.prod(shape) for shape in value.parameter_shapes().values())
        state = "trainable" if value.trainable else "frozen, eval mode"
        return {"name": name, "value": f"{sizes} MLP, {count:,} parameters, {state}"}
    return {"name": name, "value": value}


def _scores(model: torch.nn.Module, hidden: Hidden, teacher_predictions: torch.Tensor) -> tuple[float, float]:
    predictions = digits.predict(model, hidden.x_eval)
    accuracy = (predictions == hidden.y_eval).float().mean().item()
    agreement = (predictions == teacher_predictions).float().mean().item()
    return accuracy, agreement


def _baseline(hidden: Hidden) -> digits.Student:
    """The same student, the same start, trained on the 50 labels alone (``digits.train_student_hard``).

    Trained per submission, because it answers a question about this submission: its 50 labelled images and
    its start are drawn from the submission's seed, and the labels-only accuracy moves by several points from
    one labelled draw to another, so a baseline trained once and shared would mislabel submissions as
    "labels only" (or fail to). The transform alone would not need it (an MLP's first layer absorbs a
    permutation and sign flip exactly, and Adam is elementwise), but the labels do. Its cost is fixed and
    small: 300 full-batch steps on 50 images, about 0.1 s on one thread; a failed run skips it.
    """
    with torch.random.fork_rng(devices=[]):
        student = digits.Student()
        student.load_state_dict(hidden.initial)
        optimiser = torch.optim.Adam(student.parameters(), lr=digits.STUDENT_LR)
        for _ in range(digits.STUDENT_STEPS):
            loss = F.cross_entropy(student(hidden.x_labelled), hidden.y_labelled)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return student


def _curve(series: torch.Tensor | None) -> list[float | None]:
    if series is None or series.numel() == 0:
        return []
    values = series.tolist()
    if len(values) > CURVE_POINTS:
        step = (len(values) - 1) / (CURVE_POINTS - 1)
        values = [values[round(i * step)] for i in range(CURVE_POINTS)]
    # JSON (and PostgreSQL's jsonb) has no NaN or infinity: a diverged step is a gap in the curve.
    return [v if math.isfinite(v) else None for v in values]


def _pct(x: float) -> str:
    return f"{x:.1%}"


class TrainStudent(ChallengeKind):
    info = kind_info("train-student")
    result = StateDictResult(module="student", series_max=SERIES_MAX)

    def draw(self, seed: int, target: GradingTarget, device: str) -> list[TrainDrawn]:
        args, hidden = draw_task(seed)
        return [TrainDrawn(case=Case({**args, "device": device}), hidden=hidden)]

    def thresholds(self, target: GradingTarget) -> tuple[float, float]:
        options = target.options
        return float(options.get("min_accuracy", MIN_ACCURACY)), float(options.get("min_agreement", MIN_AGREEMENT))

    def details(self, target: GradingTarget) -> dict[str, Any]:
        min_accuracy, min_agreement = self.thresholds(target)
        return {"kind": self.info.name, "min_accuracy": min_accuracy, "min_agreement": min_agreement}

    def evaluate(self, drawn: list[TrainDrawn], outputs: list[CaseOutput], target: GradingTarget) -> Evaluation:
        [d], [out] = drawn, outputs
        hidden = d.hidden
        min_accuracy, min_agreement = self.thresholds(target)
        checks = [runs_check(drawn, outputs)]
        checks.append(_curve_note(out))
        values = _series(out)
        details: dict[str, Any] = {**self.details(target), "curve": _curve(out.result), "steps": 0}
        if values:
            details["steps"] = len(values)
        mistakes: list[Mistake] = []

        # A run that failed is not evaluated further: no baseline is trained and nothing is scored. The
        # parameters of a function that raised are whatever it left half-done, and scoring them would name a
        # mistake ("student not trained") for code whose problem is the exception the runs check names.
        student = self._load(out) if out.ok else None
        if student is None:
            if not out.ok:
                problem = "Not checked: your function raised an error, so its student was not read."
            else:
                problem = out.state_problem or "Not checked: your function did not finish training."
            checks.append(Check("student_parameters", False, problem))
            for name in ("test_accuracy", "teacher_agreement", "no_outside_labels"):
                checks.append(Check(name, False, "Not checked: no usable student parameters."))
            # A loss that went NaN usually took the parameters with it: the curve says where it started.
            if out.ok and (impossible := _impossible_loss(values)):
                mistakes.append(impossible)
            return Evaluation(checks=checks, mistakes=mistakes, details=details)
        checks.append(
            Check("student_parameters", True, "The student's own parameters came back: right names, shapes, finite.")
        )

        teacher_predictions, teacher_accuracy, baseline_accuracy, baseline_agreement = _references(hidden)
        details |= {
            "teacher_accuracy": teacher_accuracy,
            "baseline_accuracy": baseline_accuracy,
            "baseline_agreement": baseline_agreement,
            "test_images": int(hidden.y_eval.numel()),
        }
        accuracy, agreement = _scores(student, hidden, teacher_predictions)
        predictions = digits.predict(student, hidden.x_eval)
        teacher_wrong = teacher_predictions != hidden.y_eval
        copied = (predictions[teacher_wrong] == teacher_predictions[teacher_wrong]).float().mean().item()
        details |= {"accuracy": accuracy, "agreement": agreement, "teacher_mistakes_copied": copied}

        baseline = f"the labels-only baseline reaches {_pct(baseline_accuracy)}"
        checks.append(
            Check(
                "test_accuracy",
                accuracy >= min_accuracy,
                f"Test accuracy {_pct(accuracy)} on {details['test_images']} hidden images "
                f"(needs {_pct(min_accuracy)}; {baseline}, the teacher {_pct(teacher_accuracy)}).",
            )
        )
        checks.append(
            Check(
                "teacher_agreement",
                agreement >= min_agreement,
                f"Agrees with the teacher's top answer on {_pct(agreement)} of hidden images (needs "
                f"{_pct(min_agreement)}; the labels-only baseline agrees on {_pct(baseline_agreement)}).",
            )
        )
        # Beating the teacher, or scoring well while avoiding its mistakes, takes labels from elsewhere; a
        # weak student avoids the teacher's mistakes by making others, which is no sign of anything.
        above_teacher = accuracy - teacher_accuracy > MAX_ABOVE_TEACHER
        avoids_teacher = copied < MIN_MISTAKES_COPIED and accuracy >= min_accuracy
        if above_teacher or avoids_teacher:
            message = (
                f"Accuracy {_pct(accuracy)} against the teacher's {_pct(teacher_accuracy)}, repeating "
                f"{_pct(copied)} of the teacher's mistakes: a student distilled from this teacher and 50 labels "
                "learns the teacher's answers, errors included, and does not beat it."
            )
        else:
            message = "Nothing this student knows needs labels beyond the teacher's answers and the labelled set."
        checks.append(Check("no_outside_labels", not (above_teacher or avoids_teacher), message))
        scored = Scored(accuracy, agreement, baseline_accuracy, baseline_agreement, min_accuracy, min_agreement)
        mistakes = _diagnose(out, hidden, student, scored, outside_labels=above_teacher or avoids_teacher)
        if (drop := _tail_drop(values)) is not None:
            details["curve_tail_drop"] = drop
        return Evaluation(checks=checks, mistakes=mistakes, details=details)

    def examples(self, target: GradingTarget, device: str) -> list[ExampleDrawn]:
        args, hidden, validation = draw_example()
        return [ExampleDrawn(case=Case({**args, "device": device}), hidden=hidden, validation=validation)]

    def example_report(
        self, drawn: list[ExampleDrawn], outputs: list[CaseOutput], target: GradingTarget
    ) -> ExampleFindings:
        """The example's one row: the trained student on the visible validation split beside the thresholds,
        the labels-only baseline and the teacher, its training curve's length and ends, and what went wrong
        in the grader's own words (the row's advice, and the run's diagnosis). The hidden test set is not
        touched."""
        [d], [out] = drawn, outputs
        hidden = d.hidden
        min_accuracy, min_agreement = self.thresholds(target)
        teacher_predictions, teacher_accuracy, baseline_accuracy, baseline_agreement = _example_references()
        curve = out.result if out.ok and out.result_type == "series" else None
        losses = [v for v in (curve.tolist() if curve is not None else []) if math.isfinite(v)]
        row: dict[str, Any] = {
            "description": d.describe_split(),
            "inputs": [_input_summary(name, value) for name, value in d.case.args.items()],
            "validation_images": int(hidden.y_eval.numel()),
            "accuracy": None,
            "agreement": None,
            "min_accuracy": min_accuracy,
            "min_agreement": min_agreement,
            "meets_accuracy": False,
            "meets_agreement": False,
            "baseline_accuracy": baseline_accuracy,
            "baseline_agreement": baseline_agreement,
            "teacher_accuracy": teacher_accuracy,
            "steps": int(curve.numel()) if curve is not None else 0,
            "first_loss": losses[0] if losses else None,
            "final_loss": losses[-1] if losses else None,
            "training_seconds": round(out.seconds, 3),  # timed inside the sandbox: the learner's own figure
            "advice": "",
            "error": "",
        }
        # As in grading, a function that raised is not scored: its error is the row's whole story.
        if not (runs := runs_check(drawn, outputs)).passed:
            row["error"] = runs.message
            return ExampleFindings([row])
        # As in grading, a missing or malformed curve is a note beside the scores, not a problem.
        note = _curve_note(out)
        student = self._load(out)
        if student is None:
            row["error"] = out.state_problem or "Not checked: your function did not finish training."
            impossible = _impossible_loss(_series(out))
            mistakes = [impossible] if impossible else []
            row["advice"] = _advice(mistakes, note)
            return ExampleFindings([row], mistakes)
        accuracy, agreement = _scores(student, hidden, teacher_predictions)
        row |= {
            "accuracy": accuracy,
            "agreement": agreement,
            "meets_accuracy": accuracy >= min_accuracy,
            "meets_agreement": agreement >= min_agreement,
        }
        # The grader's own diagnosis (_diagnose), on these 200 images, but for the outside-labels test: it needs
        # the teacher's mistakes on the 540 test images, and on this split the teacher makes a handful.
        scored = Scored(accuracy, agreement, baseline_accuracy, baseline_agreement, min_accuracy, min_agreement)
        mistakes = _diagnose(out, hidden, student, scored)
        row["advice"] = _advice(mistakes, note)
        return ExampleFindings([row], mistakes)

    def _load(self, out: CaseOutput) -> digits.Student | None:
        if out.state is None or out.state_problem is not None:
            return None
        student = digits.Student()
        student.load_state_dict(out.state, strict=True)
        student.eval()
        return student

    def passed_feedback(self, evaluation: Evaluation, target: GradingTarget) -> str:
        d = evaluation.details
        if not {"accuracy", "agreement", "baseline_accuracy", "test_images"} <= d.keys():
            return "All checks passed."  # asked of every evaluation; only a scored student passes
        return (
            f"Passed: your student reaches {_pct(d['accuracy'])} test accuracy and agrees with the teacher on "
            f"{_pct(d['agreement'])} of {d['test_images']} hidden images; the same student trained on the 50 "
            f"labels alone reaches {_pct(d['baseline_accuracy'])}."
        )


KIND = TrainStudent()
