"""Challenge train-student through the kind protocol and the real sandbox: the reference passes with margin,
the labels-only student fails, and every way of handing back something other than the trained student fails.
The verdict is about the student: the curve it returns is advice, and it names the mistake (a loss below zero
or NaN, with its step; under-training told apart from soft targets unused)."""

import json

import pytest

from challenges.kinds import load_kind
from tests.grading.conftest import grade_code, solution

pytestmark = pytest.mark.sandbox

SLUG = "train-student"
KIND = load_kind(SLUG)


def checks(verdict) -> dict[str, bool]:
    return {c.name: c.passed for c in verdict.checks}


@pytest.mark.parametrize("seed", [0, 11, 2026])
def test_reference_passes_with_margin(seed):
    verdict = grade_code(SLUG, solution("reference", SLUG), seed=seed)
    assert verdict.status == "passed", verdict.feedback
    d = verdict.details
    # Margins measured over seeds 0..19 by bench/train_student_thresholds.py: >= 4 and >= 2.5 points.
    assert d["accuracy"] >= d["min_accuracy"] + 0.02 and d["agreement"] >= d["min_agreement"] + 0.015
    assert d["baseline_accuracy"] < d["min_accuracy"] - 0.03
    assert d["steps"] == 300 and len(d["curve"]) == 300 and d["curve"][0] > d["curve"][-1]
    assert f"{d['accuracy']:.1%}" in verdict.feedback and "50 labels alone" in verdict.feedback
    json.dumps(verdict.to_dict(), allow_nan=False)


@pytest.mark.parametrize("seed", [0, 11, 2026])
def test_labels_only_student_fails(seed):
    verdict = grade_code(SLUG, solution("hard_labels_only", SLUG), seed=seed)
    assert verdict.status == "failed"
    failed = {name for name, ok in checks(verdict).items() if not ok}
    assert {"test_accuracy", "teacher_agreement"} <= failed
    assert "student_parameters" not in failed and "no_outside_labels" not in failed
    assert verdict.mistakes == ["the teacher's soft targets were not used"]
    assert abs(verdict.details["accuracy"] - verdict.details["baseline_accuracy"]) < 0.03
    # The evidence: it agrees with the teacher no more than the labels-only baseline, and its curve is flat.
    assert verdict.details["agreement"] <= verdict.details["baseline_agreement"] + 0.02
    assert verdict.details["curve_tail_drop"] < 0.01
    assert verdict.feedback.startswith("Likely mistake: the teacher's soft targets were not used")
    assert "no more than the same student trained on the 50 labels alone" in verdict.feedback
    assert "not trained long enough" not in verdict.feedback


def test_untrained_student_is_named():
    verdict = grade_code(SLUG, solution("untrained", SLUG), seed=5)
    assert verdict.status == "failed"
    assert verdict.mistakes[0] == "student not trained"
    assert not checks(verdict)["returns_curve"] and not checks(verdict)["test_accuracy"]


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("bigger_model", "has shape (256, 64), expected (32, 64)"),
        ("extra_parameters", "unexpected 'answers', 'extra'"),
        ("nan_weights", "holds NaN or infinite values"),
    ],
)
def test_anything_but_the_students_own_parameters_fails(name, fragment):
    verdict = grade_code(SLUG, solution(name, SLUG), seed=5)
    assert verdict.status == "failed" and verdict.score < 0.5
    check = next(c for c in verdict.checks if c.name == "student_parameters")
    assert not check.passed and fragment in check.message, check.message
    for scored in ("test_accuracy", "teacher_agreement", "no_outside_labels"):
        assert not checks(verdict)[scored]


def test_teachers_weights_do_not_pass():
    verdict = grade_code(SLUG, solution("teacher_weights", SLUG), seed=5)
    assert verdict.status == "failed"
    assert not checks(verdict)["student_parameters"] or not checks(verdict)["test_accuracy"]


def test_public_digits_are_not_in_the_sandbox():
    verdict = grade_code(SLUG, solution("embedded_public_digits", SLUG), seed=5)
    assert verdict.status == "failed"
    runs = next(c for c in verdict.checks if c.name == "runs")
    assert not runs.passed and ("FileNotFoundError" in runs.message or "No such file" in runs.message), runs.message


def test_a_curve_that_is_not_numbers_is_a_tip_not_a_failure():
    code = solution("reference", SLUG).replace("    return losses", "    return {'loss': losses}")
    verdict = grade_code(SLUG, code, seed=5)
    check = next(c for c in verdict.checks if c.name == "returns_curve")
    assert check.advisory and not check.passed and "returned a dict" in check.message
    assert verdict.status == "passed" and verdict.score == 1.0
    assert "Tip: train_student returned a dict, not a training curve; return the losses to see your curve" in (
        verdict.feedback
    )


def test_a_well_trained_student_without_a_curve_passes_with_a_note():
    """A student trained like the reference whose function returns None: the student decides, not the curve."""
    verdict = grade_code(SLUG, solution("trains_well_returns_none", SLUG), seed=5)
    assert verdict.status == "passed" and verdict.score == 1.0, verdict.feedback
    assert all(checks(verdict)[name] for name in ("runs", "student_parameters", "test_accuracy", "teacher_agreement"))
    check = next(c for c in verdict.checks if c.name == "returns_curve")
    assert check.advisory and not check.passed and "train_student returned None" in check.message
    assert verdict.feedback.startswith("Passed: your student reaches")
    assert "Tip: train_student returned None, not a training curve; return the losses to see your curve" in (
        verdict.feedback
    )
    assert verdict.mistakes == [] and verdict.details["curve"] == [] and verdict.details["steps"] == 0


def test_a_negative_training_loss_is_named_with_its_first_step():
    """F.kl_div given the student's probabilities instead of its log-probabilities: a "KL" of -13 to -20 (as in
    real submissions). The student still learns here, so the mistake is a tip on a passing verdict."""
    verdict = grade_code(SLUG, solution("probabilities_into_kl_div", SLUG), seed=5)
    assert verdict.mistakes == ["the training loss went below zero"]
    assert "the training loss went below zero. Your training curve reads -" in verdict.feedback
    assert "at step 1 of 300 (losses[0]), its first value below zero" in verdict.feedback
    assert "F.kl_div's argument order" in verdict.feedback
    if verdict.status == "passed":
        assert "Tip: the training loss went below zero" in verdict.feedback


def test_the_first_impossible_step_is_the_one_named():
    code = solution("reference", SLUG).replace("    return losses", "    losses[36] = -0.5\n    return losses")
    verdict = grade_code(SLUG, code, seed=5)
    assert verdict.status == "passed" and verdict.mistakes == ["the training loss went below zero"]
    assert "Tip: the training loss went below zero. Your training curve reads -0.5 at step 37 of 300 (losses[36])" in (
        verdict.feedback
    )


def test_a_nan_loss_is_named_with_its_step_when_it_spoiled_the_student():
    """F.kl_div's arguments swapped: log-probabilities as the target make the loss NaN from the first step, and
    the parameters with it; the failed verdict opens with that cause, not only with the NaN parameters."""
    verdict = grade_code(SLUG, solution("kl_div_arguments_swapped", SLUG), seed=5)
    assert verdict.status == "failed" and not checks(verdict)["student_parameters"]
    assert verdict.mistakes == ["the training loss became NaN"]
    assert verdict.feedback.startswith(
        "Likely mistake: the training loss became NaN. Your training curve is NaN from step 1 of 300 (losses[0])"
    ), verdict.feedback
    assert "log-probabilities" in verdict.feedback


@pytest.mark.parametrize("name", ["too_few_steps", "minibatch_few_epochs"])
def test_under_training_is_not_called_soft_targets_unused(name):
    """A correct distillation loop stopped early (20 full-batch steps; 5 epochs of minibatch SGD, which lands
    near the labels-only accuracy): its curve is still falling, so it is told to train longer."""
    verdict = grade_code(SLUG, solution(name, SLUG), seed=5)
    assert verdict.status == "failed" and not checks(verdict)["test_accuracy"]
    assert verdict.mistakes == ["the student was not trained long enough"]
    assert verdict.feedback.startswith("Likely mistake: the student was not trained long enough. Your loss was still")
    assert "soft targets were not used" not in verdict.feedback
    assert verdict.details["curve_tail_drop"] > 0.01
    assert checks(verdict)["student_parameters"] and checks(verdict)["no_outside_labels"]


def test_thresholds_are_the_challenges_options():
    from dataclasses import replace

    from tests.grading.conftest import target

    strict = replace(target(SLUG), options={"min_accuracy": 0.999, "min_agreement": 0.999})
    from challenges.kinds.grader import grade

    verdict = grade(strict, solution("reference", SLUG), seed=0)
    assert verdict.status == "failed"
    assert verdict.details["min_accuracy"] == 0.999 and "needs 99.9%" in verdict.feedback


def test_a_loop_without_zero_grad_is_named_as_diverged():
    """optimizer.zero_grad() never called: each step applies the sum of all past gradients, so the loss falls and
    climbs back up. Named from the curve, with where it turned, and not as soft targets unused."""
    verdict = grade_code(SLUG, solution("missing_zero_grad", SLUG), seed=5)
    assert verdict.status == "failed"
    assert verdict.mistakes == ["training diverged: the loss climbed back up"]
    assert verdict.feedback.startswith("Likely mistake: training diverged: the loss climbed back up. Your loss ")
    assert "climbed to" in verdict.feedback.split(" checks passed")[0]
    assert "zero_grad()" in verdict.feedback and "soft targets were not used" not in verdict.feedback


def test_soft_targets_on_the_labelled_images_only_are_named():
    """The soft term computed on labeled_x, transfer_x never used: the student follows the teacher on the 50
    labelled images almost exactly and on the transfer images far less, which is the evidence quoted."""
    verdict = grade_code(SLUG, solution("soft_targets_on_labelled_only", SLUG), seed=5)
    assert verdict.status == "failed"
    assert verdict.mistakes == ["the teacher's soft targets used on the 50 labelled images only"]
    assert "on the labelled images," in verdict.feedback and "on the transfer images." in verdict.feedback
