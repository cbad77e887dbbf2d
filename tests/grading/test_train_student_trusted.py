"""train-student's trusted side: a failed run is named by its exception and not evaluated further, and what is
the same for every submission (the digits split, the teacher) is computed once per worker process and once
per machine, on disk, where a stale or corrupt file is recomputed rather than believed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from challenges import digits
from challenges.kinds import KINDS, load_kind, tensor_cache
from challenges.kinds import train_student as train_student_kind
from challenges.kinds.examples import run_examples
from tests.fixtures.sandbox import active_pool
from tests.grading.conftest import grade_code, solution, target

SLUG = "train-student"
KIND = load_kind(SLUG)
SIGNATURE = "def train_student(student, teacher, transfer_x, labeled_x, labeled_y, device):\n"
RAISES_AT_ONCE = SIGNATURE + "    steps = 300\n    rate = steps / 0\n    return []\n"  # line 3
LATER_CHECKS = ("returns_curve", "student_parameters", "test_accuracy", "teacher_agreement", "no_outside_labels")
# What only an evaluated run's details hold: the teacher's and the labels-only baseline's scores, the student's.
EVALUATED = ("teacher_accuracy", "baseline_accuracy", "baseline_agreement", "accuracy", "agreement")


def _forget_in_memory_references() -> None:
    """What a worker process keeps in memory, dropped: the next draw starts as a newly started process would."""
    for cached in (
        train_student_kind._split,
        train_student_kind._teacher,
        train_student_kind._example_teacher,
        train_student_kind._example_references,
    ):
        cached.cache_clear()


@pytest.fixture
def new_worker(monkeypatch, tmp_path):
    """A newly started worker on a machine whose disk cache is empty; yields the list of teacher trainings."""
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    _forget_in_memory_references()
    trainings: list[int] = []
    train = digits.train_teacher

    def counted(*args, **kwargs):
        trainings.append(1)
        return train(*args, **kwargs)

    monkeypatch.setattr(digits, "train_teacher", counted)
    yield trainings
    _forget_in_memory_references()  # later tests read the real cache directory again


def teacher_files() -> list[Path]:
    return sorted(tensor_cache.cache_dir().glob("digits-teacher-*.safetensors"))


def hidden_draw(seed: int = 4) -> dict[str, torch.Tensor]:
    """What the sandbox is given for ``seed``, as tensors: the teacher (adapted to the transform) and the data."""
    [drawn] = KIND.draw(seed, target(SLUG), "cpu")
    args = drawn.case.args
    return {**{f"teacher.{k}": v for k, v in args["teacher"].state.items()}, "transfer_x": args["transfer_x"]}


# --------------------------------------------------------------------------- a run that failed


def trains_then_raises() -> str:
    """Trains the student in place, then raises: its half-done parameters are not scored either."""
    return solution("hard_labels_only", SLUG).replace("    return losses", "    return losses[0] / 0")


@pytest.mark.sandbox
@pytest.mark.parametrize("code", [RAISES_AT_ONCE, trains_then_raises()], ids=["at_once", "after_training"])
def test_a_raising_train_student_is_named_by_its_exception_and_not_evaluated(code):
    verdict = grade_code(SLUG, code, seed=3)
    assert verdict.status == "failed" and verdict.score == 0.0
    headline = verdict.feedback.splitlines()[0]
    line = next(i for i, text in enumerate(code.splitlines(), 1) if "/ 0" in text)
    assert f"(ZeroDivisionError at line {line})" in headline, verdict.feedback
    assert "division by zero" in verdict.feedback
    # The exception is the story: no mistake is guessed from the parameters it left behind.
    assert verdict.mistakes == [] and "student not trained" not in verdict.feedback
    checks = {c.name: c for c in verdict.checks}
    assert not checks["runs"].passed
    for name in LATER_CHECKS:
        assert not checks[name].passed and checks[name].message.startswith("Not checked"), checks[name]
    # Not evaluated further: no teacher or baseline scores (the baseline was not trained), no student scores.
    assert not set(EVALUATED) & set(verdict.details), verdict.details
    assert verdict.details["kind"] == SLUG and verdict.details["steps"] == 0


@pytest.mark.sandbox
def test_parameters_that_cannot_be_used_are_not_evaluated_either():
    verdict = grade_code(SLUG, solution("bigger_model", SLUG), seed=3)
    checks = {c.name: c for c in verdict.checks}
    assert checks["runs"].passed and not checks["student_parameters"].passed
    assert not set(EVALUATED) & set(verdict.details), verdict.details


@pytest.mark.sandbox
@pytest.mark.parametrize("slug", sorted(KINDS))
def test_every_kind_names_the_exception_and_the_line_first(slug):
    """The shared runs check is the one way a raising submission is reported, for every kind."""
    entrypoint = target(slug).entrypoint
    code = f"def {entrypoint}({', '.join(KINDS[slug].parameters)}):\n    value = 1\n    return value.missing\n"
    verdict = grade_code(slug, code, seed=2)
    assert verdict.status == "failed"
    assert "(AttributeError at line 3)" in verdict.feedback.splitlines()[0], verdict.feedback
    assert "'int' object has no attribute 'missing'" in verdict.feedback


@pytest.mark.sandbox
def test_a_raising_example_run_is_not_scored():
    report = run_examples(target(SLUG), RAISES_AT_ONCE, pool=active_pool())
    assert report.status == "ran"
    [row] = report.examples
    assert "(ZeroDivisionError at line 3)" in row["error"] and row["advice"] == ""
    assert row["accuracy"] is None and row["agreement"] is None
    # The example's own references are the same for every run, so they are still shown beside the error.
    assert row["baseline_accuracy"] < row["min_accuracy"] and row["teacher_accuracy"] > row["min_accuracy"]


# --------------------------------------------------------------------------- what the curve names


def scored(accuracy=0.85, agreement=0.86, baseline=(0.84, 0.84)) -> train_student_kind.Scored:
    return train_student_kind.Scored(accuracy, agreement, *baseline, 0.92, 0.95)


def falling(steps: int, tail_drop: float) -> list[float]:
    """A curve from 10 down to 1 over its first 80% of ``steps``, then falling by about ``tail_drop`` of its
    range per tenth of the steps."""
    head = [10 - 9 * i / (steps * 0.8 - 1) for i in range(int(steps * 0.8))]
    tenth = steps // 10
    return head + [1 - 9 * tail_drop * (1 + i / tenth) for i in range(steps - len(head))]


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ([2.0, 1.0, -0.01, -3.0], "-0.01 at step 3 of 4 (losses[2])"),
        ([2.0, float("nan"), -1.0], "NaN from step 2 of 3 (losses[1])"),
        ([2.0, 1.0, float("inf")], "infinite from step 3 of 3 (losses[2])"),
    ],
)
def test_an_impossible_loss_is_named_at_its_first_step(values, named):
    mistake = train_student_kind._impossible_loss(values)
    assert mistake is not None and named in mistake.explanation, mistake


def test_a_loss_at_zero_within_rounding_is_not_impossible():
    assert train_student_kind._impossible_loss([0.5, 1e-7, -1e-6, 0.0]) is None


def test_still_falling_is_measured_over_tenths_of_the_curve():
    assert train_student_kind._tail_drop(falling(300, 0.05)) == pytest.approx(0.05, rel=0.2)
    assert train_student_kind._tail_drop(falling(300, 0.001)) < train_student_kind.STILL_FALLING
    assert train_student_kind._tail_drop([1.0] * 50) is None and train_student_kind._tail_drop([3.0, 2.0]) is None


# How closely a student follows the teacher (mean KL at T = 1) on the labelled images and on the transfer images.
FOLLOWS_ON_NEITHER = train_student_kind.Fit(0.06, 0.45)  # like the labels-only baseline
FOLLOWS_ON_LABELLED_ONLY = train_student_kind.Fit(0.002, 0.2)


@pytest.mark.parametrize(
    ("values", "score", "key", "fit"),
    [
        # Still falling at the end: under-trained, even where it scores like the labels-only baseline.
        (falling(100, 0.08), scored(0.84, 0.85), "under_trained", None),
        # A flat curve and no more agreement with the teacher than the baseline: the soft targets unused.
        (falling(300, 0.0), scored(0.84, 0.845), "labels_only", None),
        ([], scored(0.84, 0.845), "labels_only", None),  # no curve: the agreement alone decides
        # A flat curve, but it agrees with the teacher well above the baseline: it used the teacher.
        (falling(300, 0.0), scored(0.90, 0.91), None, None),
        # Far below the baseline's accuracy: it did not even learn the labels; nothing named from a flat curve.
        (falling(300, 0.0), scored(0.40, 0.41), None, None),
        # A short curve, flat at its end: too few steps.
        (falling(30, 0.0), scored(0.60, 0.61), "under_trained", None),
        # Meets both bars: nothing to explain.
        (falling(100, 0.08), scored(0.95, 0.97), None, None),
        # Fell, then climbed back far above its lowest tenth: diverged, whatever the scores.
        (falling(150, 0.0) + [1.0 + i / 10 for i in range(150)], scored(0.84, 0.85), "diverged", None),
        # A flat curve that follows the teacher on the labelled images only: soft targets on the wrong batch.
        (falling(300, 0.0), scored(0.90, 0.91), "soft_targets_labelled_only", FOLLOWS_ON_LABELLED_ONLY),
        # Follows the teacher on both sets alike: no such mistake.
        (falling(300, 0.0), scored(0.90, 0.91), None, train_student_kind.Fit(0.01, 0.02)),
    ],
    ids=[
        "still_falling",
        "flat_labels_only",
        "no_curve_labels_only",
        "used_teacher",
        "far_below",
        "few",
        "passes",
        "diverged",
        "labelled_only",
        "follows_on_both",
    ],
)
def test_a_shortfall_is_named_from_evidence(values, score, key, fit):
    mistake = train_student_kind._shortfall(values, score, fit or FOLLOWS_ON_NEITHER)
    assert (mistake.key if mistake else None) == key, mistake


def test_a_wobbling_curve_did_not_diverge():
    """A noisy curve that barely learns (soft targets paired with the wrong images) wobbles near its lowest tenth."""
    wobbling = [2.0 + 0.2 * ((i * 7919) % 13) / 13 for i in range(300)]
    assert train_student_kind._climbed(wobbling) is None
    assert train_student_kind._climbed(falling(300, 0.05)) is None


# --------------------------------------------------------------------------- references computed once


@pytest.mark.sandbox
def test_two_gradings_in_one_worker_train_the_teacher_once(new_worker):
    first = grade_code(SLUG, RAISES_AT_ONCE, seed=5)
    assert len(new_worker) == 1 and len(teacher_files()) == 1
    second = grade_code(SLUG, RAISES_AT_ONCE, seed=6)
    assert len(new_worker) == 1
    assert first.status == second.status == "failed"


def test_a_new_worker_reads_the_teacher_from_disk_bit_for_bit(new_worker):
    trained = hidden_draw()
    [path] = teacher_files()
    written = path.stat()
    _forget_in_memory_references()  # another process on the same machine
    read_back = hidden_draw()
    assert len(new_worker) == 1, "the second process trained its own teacher"
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (written.st_ino, written.st_mtime_ns)
    # A cache hit hands the sandbox exactly what training would have: the same seed draws the same case.
    assert trained.keys() == read_back.keys()
    assert all(torch.equal(trained[k], read_back[k]) for k in trained)


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # truncated: a writer that died mid-file (not ours: we rename)
        lambda data: data[:-5] + bytes([data[-5] ^ 0x01]) + data[-4:],  # one bit flipped in the weights
        lambda data: b"",
        lambda data: b"\xff" * 8 + data[8:],  # a header length past the end
        lambda data: data.replace(b'"format":"1"', b'"format":"0"'),  # written by an older layout
    ],
    ids=["truncated", "bit_flip", "empty", "bad_header", "old_format"],
)
def test_a_damaged_cache_file_is_recomputed_and_rewritten(new_worker, damage):
    trained = hidden_draw()
    [path] = teacher_files()
    path.write_bytes(damage(path.read_bytes()))
    _forget_in_memory_references()
    again = hidden_draw()
    assert len(new_worker) == 2, "the damaged file was believed"
    assert all(torch.equal(trained[k], again[k]) for k in trained)
    # Rewritten whole: the next process reads it without training.
    _forget_in_memory_references()
    hidden_draw()
    assert len(new_worker) == 2
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_a_file_for_other_code_is_never_read(new_worker):
    hidden_draw()
    [path] = teacher_files()
    # Another version of the code (or of torch) names another file: planting one under this name but written
    # for another key must not make it ours.
    other = tensor_cache.cache_key("digits-teacher", ["other code"])
    tensor_cache.write(path, other, dict(digits.make_teacher().state_dict()))
    _forget_in_memory_references()
    hidden_draw()
    assert len(new_worker) == 2


# --------------------------------------------------------------------------- the cache on its own


def test_the_cache_round_trips_and_computes_once(monkeypatch, tmp_path):
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    computed = []

    def compute():
        computed.append(1)
        return {"w": torch.arange(6, dtype=torch.float32).reshape(2, 3), "n": torch.tensor([1, 2], dtype=torch.int64)}

    first = tensor_cache.cached_tensors("thing", ["v1"], compute)
    second = tensor_cache.cached_tensors("thing", ["v1"], compute)
    assert len(computed) == 1 and all(torch.equal(first[k], second[k]) for k in first)
    assert tensor_cache.cache_dir() == tmp_path / "grader-cache"
    tensor_cache.cached_tensors("thing", ["v2"], compute)  # another key part: another file
    assert len(computed) == 2 and len(list(tensor_cache.cache_dir().glob("thing-*.safetensors"))) == 2


def test_a_file_its_user_cannot_load_is_recomputed(monkeypatch, tmp_path):
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    tensor_cache.cached_tensors("thing", ["v1"], lambda: {"w": torch.zeros(3)})

    def needs_four(tensors):
        if tensors["w"].numel() != 4:
            raise ValueError("wrong size")

    got = tensor_cache.cached_tensors("thing", ["v1"], lambda: {"w": torch.ones(4)}, needs_four)
    assert torch.equal(got["w"], torch.ones(4))


def test_an_unwritable_cache_costs_the_computation_not_the_result(monkeypatch, tmp_path):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the directory should be")
    monkeypatch.setenv("VAR_DIR", str(blocked))
    got = tensor_cache.cached_tensors("thing", ["v1"], lambda: {"w": torch.ones(2)})
    assert torch.equal(got["w"], torch.ones(2))
    assert os.listdir(tmp_path) == ["not-a-directory"]
