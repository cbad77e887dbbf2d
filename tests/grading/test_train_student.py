"""Challenge train-student through the kind protocol and the real sandbox: the reference passes with margin,
the labels-only student fails, and every way of handing back something other than the trained student fails."""

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


def test_curve_must_be_numbers():
    code = solution("reference", SLUG).replace("    return losses", "    return {'loss': losses}")
    verdict = grade_code(SLUG, code, seed=5)
    check = next(c for c in verdict.checks if c.name == "returns_curve")
    assert not check.passed and "returned a dict" in check.message
    assert verdict.status == "failed"


def test_thresholds_are_the_challenges_options():
    from dataclasses import replace

    from tests.grading.conftest import target

    strict = replace(target(SLUG), options={"min_accuracy": 0.999, "min_agreement": 0.999})
    from challenges.kinds.grader import grade

    verdict = grade(strict, solution("reference", SLUG), seed=0)
    assert verdict.status == "failed"
    assert verdict.details["min_accuracy"] == 0.999 and "needs 99.9%" in verdict.feedback
