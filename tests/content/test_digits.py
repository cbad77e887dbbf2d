"""The digits experiment that drops 1, 3 and 5 quote is real and reproducible.

Re-runs ``python -m challenges.digits`` (the command that writes the figures, so with the same
pinned scalar CPU kernels) and compares with the committed ``content/data/digits-metrics.json``:
every count, accuracy and agreement must match exactly (one CPU thread, fixed seeds,
deterministic kernels). Latency depends on the machine, so it is only checked to be present and
positive.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from challenges import digits

MODELS = ("teacher", "student_hard", "student_distilled", "student_all_labels")
REPO = Path(digits.__file__).resolve().parents[1]
EXACT_FIELDS = ("parameters", "test_correct", "test_accuracy", "teacher_agreement")


@pytest.fixture(scope="module")
def committed() -> dict:
    return json.loads(digits.METRICS_PATH.read_text())


@pytest.fixture(scope="module")
def measured(committed: dict) -> dict:
    command = [sys.executable, "-m", "challenges.digits", "--json", "--seed", str(committed["seed"])]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600, check=True)
    return json.loads(done.stdout)


def test_same_keys_in_the_same_order(committed, measured):
    assert list(measured) == list(committed)
    for model in MODELS:
        assert list(measured[model]) == list(committed[model])


def test_setup_matches(committed, measured):
    assert measured["data"] == committed["data"]
    assert measured["distillation"] == committed["distillation"]
    assert committed["data"]["images"] == 1797
    assert committed["data"]["labelled"] == 10 * committed["data"]["labelled_per_class"]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("field", EXACT_FIELDS)
def test_figures_reproduce_exactly(committed, measured, model, field):
    assert measured[model][field] == committed[model][field]


@pytest.mark.parametrize("model", MODELS)
def test_latency_is_recorded(committed, measured, model):
    for metrics in (committed, measured):
        latency = metrics[model]["latency_ms_per_batch_256"]
        assert isinstance(latency, float) and latency > 0


def test_provenance_is_recorded(committed):
    assert committed["torch_version"]
    assert committed["cpu"]
    assert "machine-dependent" in committed["latency_note"].lower()


def test_student_architecture_is_fixed():
    assert digits.count_parameters(digits.Student()) == 2410
    assert digits.Student()(torch.zeros(3, 64)).shape == (3, 10)


def test_distilled_student_beats_hard_label_student(committed, measured):
    for metrics in (committed, measured):
        assert metrics["student_distilled"]["test_accuracy"] > metrics["student_hard"]["test_accuracy"]
        assert metrics["student_distilled"]["teacher_agreement"] > metrics["student_hard"]["teacher_agreement"]


def test_all_labels_control_is_the_same_student_on_every_training_label(committed, measured):
    """The fair control: the teacher learned from all 1,257 labels, so a student given them all is the bar."""
    _, y_train, _, _ = digits.load_split()
    assert committed["data"]["train"] == len(y_train) == 1257
    assert committed["data"]["labelled"] + committed["data"]["unlabelled_transfer"] == committed["data"]["train"]
    for metrics in (committed, measured):
        control = metrics["student_all_labels"]
        assert control["parameters"] == metrics["student_distilled"]["parameters"] == 2410
        assert control["test_accuracy"] > metrics["student_hard"]["test_accuracy"]
        # Distillation from 50 labels plus the teacher lands within one test image of the control or above it.
        gap = control["test_correct"] - metrics["student_distilled"]["test_correct"]
        assert gap <= 1


def test_pinned_kernels_only_apply_to_the_command():
    """Importing the module (as a grading worker does) leaves the process's CPU kernels alone."""
    command = [sys.executable, "-c", "import os, challenges.digits; print(os.environ.get('ATEN_CPU_CAPABILITY'))"]
    env = {k: v for k, v in os.environ.items() if k != "ATEN_CPU_CAPABILITY"}
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120, check=True, env=env)
    assert done.stdout.strip() == "None"


def test_labelled_subset_is_balanced_and_disjoint():
    _, y_train, _, _ = digits.load_split()
    labelled, unlabelled = digits.labelled_subset(y_train, per_class=5, seed=0)
    assert torch.bincount(y_train[labelled], minlength=10).tolist() == [5] * 10
    assert len(set(labelled.tolist()) & set(unlabelled.tolist())) == 0
    assert len(labelled) + len(unlabelled) == len(y_train)


def test_run_restores_torch_settings(committed):
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    digits.train_teacher(seed=committed["seed"])
    assert torch.get_num_threads() == threads
    assert torch.are_deterministic_algorithms_enabled() == deterministic
