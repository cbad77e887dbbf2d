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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
    GradingTarget,
    Mistake,
    mistakes_text,
    not_checked_if_no_result,
    runs_check,
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
OUTSIDE_LABELS = Mistake(
    "outside_labels",
    "trained on labels the teacher never gave",
    "Your student knows things neither the teacher nor the 50 labels could have told it. The challenge is to "
    "distill the teacher: learn from its outputs on transfer_x and the labelled set only.",
)


SPLIT_NAMES = ("x_train", "y_train", "x_test", "y_test")


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run the trusted side's torch work on one intra-op thread, then restore the process's setting.

    Its tensors are tiny (at most 1,257 x 64; a 2,410-parameter student), so a second thread buys nothing and
    costs a synchronisation per operation. On shared cores it costs far more: with a cohort's sandboxes busy,
    OpenMP's waiting threads spin against them; beside four busy processes the 300-step labels-only baseline
    took 3-8 s of CPU (5-20 s wall) on two threads, and 0.13-0.2 s on one (docs/benchmarks.md).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


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
    args = {
        "student": ModuleSpec(STUDENT_LAYERS, dict(initial), trainable=True),
        "teacher": ModuleSpec(TEACHER_LAYERS, _state_of(teacher, TEACHER_LAYERS), trainable=False),
        "transfer_x": _transform(x_train[transfer], perm, signs, gen),
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
    with _one_thread():
        _, hidden, _ = draw_example()
        return _references(hidden)


def _untrained(out: CaseOutput, hidden: Hidden) -> bool:
    return all(torch.equal(out.state[name], hidden.initial[name]) for name in hidden.initial)


def _like_labels_only(accuracy: float, agreement: float, baseline_accuracy: float, min_agreement: float) -> bool:
    return agreement < min_agreement and abs(accuracy - baseline_accuracy) < 0.04


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
        with _one_thread():
            args, hidden = draw_task(seed)
        return [TrainDrawn(case=Case({**args, "device": device}), hidden=hidden)]

    def thresholds(self, target: GradingTarget) -> tuple[float, float]:
        options = target.options
        return float(options.get("min_accuracy", MIN_ACCURACY)), float(options.get("min_agreement", MIN_AGREEMENT))

    def details(self, target: GradingTarget) -> dict[str, Any]:
        min_accuracy, min_agreement = self.thresholds(target)
        return {"kind": self.info.name, "min_accuracy": min_accuracy, "min_agreement": min_agreement}

    def evaluate(self, drawn: list[TrainDrawn], outputs: list[CaseOutput], target: GradingTarget) -> Evaluation:
        with _one_thread():
            return self._evaluate(drawn, outputs, target)

    def _evaluate(self, drawn: list[TrainDrawn], outputs: list[CaseOutput], target: GradingTarget) -> Evaluation:
        [d], [out] = drawn, outputs
        hidden = d.hidden
        min_accuracy, min_agreement = self.thresholds(target)
        checks = [runs_check(drawn, outputs)]
        checks.append(self._curve_check(out))
        details: dict[str, Any] = {**self.details(target), "curve": _curve(out.result), "steps": 0}
        if out.result is not None:
            details["steps"] = int(out.result.numel())
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
        if _untrained(out, hidden):
            mistakes.append(NOT_TRAINED)

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
            mistakes.append(OUTSIDE_LABELS)
            message = (
                f"Accuracy {_pct(accuracy)} against the teacher's {_pct(teacher_accuracy)}, repeating "
                f"{_pct(copied)} of the teacher's mistakes: a student distilled from this teacher and 50 labels "
                "learns the teacher's answers, errors included, and does not beat it."
            )
        else:
            message = "Nothing this student knows needs labels beyond the teacher's answers and the labelled set."
        checks.append(Check("no_outside_labels", not (above_teacher or avoids_teacher), message))
        if not mistakes and _like_labels_only(accuracy, agreement, baseline_accuracy, min_agreement):
            mistakes.append(LABELS_ONLY)
        return Evaluation(checks=checks, mistakes=mistakes, details=details)

    def examples(self, target: GradingTarget, device: str) -> list[ExampleDrawn]:
        with _one_thread():
            args, hidden, validation = draw_example()
        return [ExampleDrawn(case=Case({**args, "device": device}), hidden=hidden, validation=validation)]

    def example_report(self, drawn: list[ExampleDrawn], outputs: list[CaseOutput], target: GradingTarget) -> list[dict]:
        """The example's one row: the trained student on the visible validation split beside the thresholds,
        the labels-only baseline and the teacher, its training curve's length and ends, and what went wrong
        in the grader's own words. The hidden test set is not touched."""
        with _one_thread():
            return self._example_report(drawn, outputs, target)

    def _example_report(self, drawn: list[ExampleDrawn], outputs: list[CaseOutput], target: GradingTarget) -> list:
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
        problems = []
        if not (runs := runs_check(drawn, outputs)).passed:
            problems.append(runs.message)
        elif not (returned := self._curve_check(out)).passed:
            problems.append(returned.message)
        # As in grading, a function that raised is not scored: its error is the row's whole story.
        student = self._load(out) if out.ok else None
        if student is None:
            if out.ok:
                problems.append(out.state_problem or "Not checked: your function did not finish training.")
            row["error"] = "\n".join(problems)
            return [row]
        accuracy, agreement = _scores(student, hidden, teacher_predictions)
        row |= {
            "accuracy": accuracy,
            "agreement": agreement,
            "meets_accuracy": accuracy >= min_accuracy,
            "meets_agreement": agreement >= min_agreement,
            "error": "\n".join(problems),
        }
        # Only the mistakes 200 images can tell apart; the grader's outside-labels test needs the teacher's
        # mistakes on the 540 test images, and on this split the teacher makes a handful.
        if _untrained(out, hidden):
            row["advice"] = mistakes_text([NOT_TRAINED])
        elif _like_labels_only(accuracy, agreement, baseline_accuracy, min_agreement):
            row["advice"] = mistakes_text([LABELS_ONLY])
        return [row]

    def _curve_check(self, out: CaseOutput) -> Check:
        if not out.ok:
            return not_checked_if_no_result("returns_curve", [out])
        if out.result_type != "series":
            return Check(
                "returns_curve",
                False,
                f"train_student returned a {out.result_type}; return the list of loss values, one per step "
                f"(at most {SERIES_MAX:,}), e.g. losses.append(loss.item()).",
            )
        if out.result.numel() == 0:
            return Check("returns_curve", False, "The training curve is empty: append each step's loss to the list.")
        return Check("returns_curve", True, f"Returned a training curve of {out.result.numel():,} steps.")

    def _load(self, out: CaseOutput) -> digits.Student | None:
        if out.state is None or out.state_problem is not None:
            return None
        student = digits.Student()
        student.load_state_dict(out.state, strict=True)
        student.eval()
        return student

    def passed_feedback(self, evaluation: Evaluation, target: GradingTarget) -> str:
        d = evaluation.details
        return (
            f"Passed: your student reaches {_pct(d['accuracy'])} test accuracy and agrees with the teacher on "
            f"{_pct(d['agreement'])} of {d['test_images']} hidden images; the same student trained on the 50 "
            f"labels alone reaches {_pct(d['baseline_accuracy'])}."
        )


KIND = TrainStudent()
