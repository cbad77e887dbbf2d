"""The digits experiment that drop 5 quotes is real and reproducible.

Re-runs ``challenges.digits`` and compares with the committed
``content/data/digits-metrics.json``: every count, accuracy and agreement must match
exactly (one CPU thread, fixed seeds, deterministic kernels). Latency depends on the
machine, so it is only checked to be present and positive.
"""

import json

import pytest
import torch

from challenges import digits

MODELS = ("teacher", "student_hard", "student_distilled")
EXACT_FIELDS = ("parameters", "test_correct", "test_accuracy", "teacher_agreement")


@pytest.fixture(scope="module")
def committed() -> dict:
    return json.loads(digits.METRICS_PATH.read_text())


@pytest.fixture(scope="module")
def measured(committed: dict) -> dict:
    return digits.run_experiment(seed=committed["seed"])


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
