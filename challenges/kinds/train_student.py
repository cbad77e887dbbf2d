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
  The sandbox also never sees scikit-learn's data files (``workers.sandbox.runner.HIDDEN_PACKAGE_DATA``).
* **The teacher** (``digits.train_teacher(0)``) is trained once per worker process and cached; it enters
  the sandbox frozen, in eval mode. **The student** starts from weights drawn here from the seed.
* **Verdict**: the trained parameters come back as safetensors; the trusted side loads them with
  ``strict=True`` into its own ``digits.Student`` (exact names, shapes, float32, finite: anything else is a
  failed check) and measures test accuracy and top-1 agreement with the teacher on the hidden test set,
  beside the same student trained on the 50 labels alone under the same transform.

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
from dataclasses import dataclass
from functools import cache
from typing import Any

import torch
import torch.nn.functional as F

from challenges import digits
from challenges.kinds import kind_info
from challenges.kinds.grader import (
    ChallengeKind,
    Check,
    Drawn,
    Evaluation,
    GradingTarget,
    Mistake,
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
    "outputs on the 1,207 unlabelled transfer images: add the soft term, T²·KL(teacher ‖ student) on "
    "transfer_x, to the hard-label loss.",
)
OUTSIDE_LABELS = Mistake(
    "outside_labels",
    "trained on labels the teacher never gave",
    "Your student knows things neither the teacher nor the 50 labels could have told it. The challenge is to "
    "distill the teacher: learn from its outputs on transfer_x and the labelled set only.",
)


@cache
def _split() -> tuple[torch.Tensor, ...]:
    return digits.load_split()


@cache
def _teacher() -> torch.nn.Module:
    """Trained once per worker process (a few seconds of CPU), then reused for every submission."""
    return digits.train_teacher(0)


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

    x_test: torch.Tensor
    y_test: torch.Tensor
    teacher: torch.nn.Module  # adapted to the transform
    x_labelled: torch.Tensor
    y_labelled: torch.Tensor
    initial: dict[str, torch.Tensor]


@dataclass
class TrainDrawn(Drawn):
    case: Case
    hidden: Hidden

    def describe(self) -> str:
        return "the digits training set"


def _transform(x: torch.Tensor, perm: torch.Tensor, signs: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    return signs * x[:, perm] + NOISE_SIGMA * torch.randn(x.shape, generator=gen)


def draw_task(seed: int) -> tuple[dict[str, Any], Hidden]:
    """The learner's arguments and what stays hidden, both from ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(digits.NUM_FEATURES, generator=gen)
    signs = torch.randint(0, 2, (digits.NUM_FEATURES,), generator=gen).float() * 2 - 1
    x_train, y_train, x_test, y_test = _split()
    labelled, unlabelled = digits.labelled_subset(y_train, digits.LABELS_PER_CLASS, seed=seed % (2**62))

    teacher = digits.make_teacher()
    teacher.load_state_dict(_teacher().state_dict())
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
        "transfer_x": _transform(x_train[unlabelled], perm, signs, gen),
        "labeled_x": x_labelled,
        "labeled_y": y_train[labelled].clone(),
    }
    hidden = Hidden(
        x_test=_transform(x_test, perm, signs, gen),
        y_test=y_test,
        teacher=teacher,
        x_labelled=x_labelled,
        y_labelled=y_train[labelled].clone(),
        initial=initial,
    )
    return args, hidden


def _scores(model: torch.nn.Module, hidden: Hidden, teacher_predictions: torch.Tensor) -> tuple[float, float]:
    predictions = digits.predict(model, hidden.x_test)
    accuracy = (predictions == hidden.y_test).float().mean().item()
    agreement = (predictions == teacher_predictions).float().mean().item()
    return accuracy, agreement


def _baseline(hidden: Hidden) -> digits.Student:
    """The same student, the same start, trained on the 50 labels alone (``digits.train_student_hard``)."""
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
        checks.append(self._curve_check(out))
        details: dict[str, Any] = {**self.details(target), "curve": _curve(out.result), "steps": 0}
        if out.result is not None:
            details["steps"] = int(out.result.numel())

        teacher_predictions = digits.predict(hidden.teacher, hidden.x_test)
        teacher_accuracy = (teacher_predictions == hidden.y_test).float().mean().item()
        baseline_accuracy, baseline_agreement = _scores(_baseline(hidden), hidden, teacher_predictions)
        details |= {
            "teacher_accuracy": teacher_accuracy,
            "baseline_accuracy": baseline_accuracy,
            "baseline_agreement": baseline_agreement,
            "test_images": int(hidden.y_test.numel()),
        }
        mistakes: list[Mistake] = []

        student = self._load(out)
        if student is None:
            problem = out.state_problem or "Not checked: your function did not finish training."
            checks.append(Check("student_parameters", False, problem))
            for name in ("test_accuracy", "teacher_agreement", "no_outside_labels"):
                checks.append(Check(name, False, "Not checked: no usable student parameters."))
            return Evaluation(checks=checks, mistakes=mistakes, details=details)
        checks.append(
            Check("student_parameters", True, "The student's own parameters came back: right names, shapes, finite.")
        )
        if all(torch.equal(out.state[name], hidden.initial[name]) for name in hidden.initial):
            mistakes.append(NOT_TRAINED)

        accuracy, agreement = _scores(student, hidden, teacher_predictions)
        predictions = digits.predict(student, hidden.x_test)
        teacher_wrong = teacher_predictions != hidden.y_test
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
        if not mistakes and agreement < min_agreement and abs(accuracy - baseline_accuracy) < 0.04:
            mistakes.append(LABELS_ONLY)
        return Evaluation(checks=checks, mistakes=mistakes, details=details)

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
