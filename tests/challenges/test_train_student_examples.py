"""Run on examples for train-student: the learner's training run on one fixed, visible draw, in the real sandbox,
scored on a visible validation split (never the hidden test set), and the HTTP flow through the Celery task.

Each training run costs a few seconds of CPU, so the runs are few and shared where they can be.
"""

from __future__ import annotations

import pytest
import torch

from challenges import dispatch, limits, tasks
from challenges.digits import load_split
from challenges.kinds import load_kind
from challenges.kinds.examples import run_examples
from challenges.kinds.train_student import EXAMPLE_SEED
from challenges.models import ExampleRun, Submission
from tests.fixtures.sandbox import active_pool
from tests.grading.conftest import grade_code, solution, target
from workers.sandbox import Limits

SLUG = "train-student"
KIND = load_kind(SLUG)
PARAMETERS = "student, teacher, transfer_x, labeled_x, labeled_y, device"


def challenge_limits() -> dict:
    from challenges.models import Challenge

    return Challenge.objects.get(slug=SLUG).limits


def examples_of(code: str, limits: Limits | None = None):
    return run_examples(target(SLUG, limits), code, pool=active_pool())


@pytest.fixture(scope="module")
def reference():
    report = examples_of(solution("reference", SLUG) + '\nprint("training my student")\n')
    assert report.status == "ran", report.message
    [row] = report.examples
    return report, row


@pytest.mark.sandbox
def test_the_reference_meets_the_thresholds_on_the_validation_split(reference):
    report, row = reference
    assert row["error"] == "" and row["advice"] == ""
    assert (row["min_accuracy"], row["min_agreement"]) == KIND.thresholds(target(SLUG))
    assert row["accuracy"] >= row["min_accuracy"] and row["agreement"] >= row["min_agreement"]
    assert row["meets_accuracy"] and row["meets_agreement"]
    # The baseline, trained on the trusted side, is below both: the figures say what the teacher adds.
    assert row["baseline_accuracy"] < row["min_accuracy"] and row["baseline_agreement"] < row["min_agreement"]
    assert row["agreement"] > row["baseline_agreement"] + 0.05
    assert row["validation_images"] == 200 and "200 validation images" in row["description"]
    assert row["steps"] == 300 and row["first_loss"] > row["final_loss"] > 0
    assert 0 < row["training_seconds"] < target(SLUG).limits.wall_seconds
    shapes = {i["name"]: i.get("shape") for i in row["inputs"]}
    assert shapes["transfer_x"] == [1007, 64] and shapes["labeled_x"] == [50, 64] and shapes["labeled_y"] == [50]
    assert "training my student" in report.stdout
    # The whole run, the example teacher and the baseline included, fits the task's soft limit with room.
    assert report.seconds < limits.task_budget(SLUG, target(SLUG).limits).soft_seconds / 2


@pytest.mark.sandbox
def test_a_labels_only_trainer_agrees_less_and_is_told_why(reference):
    _, best = reference
    report = examples_of(solution("hard_labels_only", SLUG))
    assert report.status == "ran"
    [row] = report.examples
    assert row["agreement"] < row["min_agreement"] and not row["meets_agreement"]
    assert row["agreement"] < best["agreement"] - 0.05
    assert abs(row["accuracy"] - row["baseline_accuracy"]) < 0.03
    assert "Likely mistake: the teacher's soft targets were not used" in row["advice"]
    assert row["error"] == ""


@pytest.mark.sandbox
@pytest.mark.parametrize(
    ("name", "diagnosis"),
    [
        ("too_few_steps", "the student was not trained long enough. Your loss was still falling when training stopped"),
        ("minibatch_few_epochs", "the student was not trained long enough. Your loss was still falling"),
        ("probabilities_into_kl_div", "the training loss went below zero. Your training curve reads -"),
        ("kl_div_arguments_swapped", "the training loss became NaN. Your training curve is NaN from step 1 of 300"),
        ("trains_well_returns_none", "train_student returned None, not a training curve; return the losses to see"),
    ],
)
def test_the_examples_give_the_graders_diagnosis(name, diagnosis):
    """The row's advice names what a grading of the same code names, in the same words: the same rules
    (``_diagnose``) on the validation split."""
    report = examples_of(solution(name, SLUG))
    assert report.status == "ran", report.message
    [row] = report.examples
    verdict = grade_code(SLUG, solution(name, SLUG), seed=5)
    assert diagnosis in row["advice"] and diagnosis in verdict.feedback, (row["advice"], verdict.feedback)
    for title in verdict.mistakes:
        assert title in row["advice"]
    assert "soft targets were not used" not in row["advice"]
    if name == "trains_well_returns_none":
        # A good student without a curve: a note, not a problem, as in grading.
        assert row["error"] == "" and row["meets_accuracy"] and row["meets_agreement"] and row["steps"] == 0
        assert row["advice"].startswith("Tip: ") and verdict.status == "passed"


@pytest.mark.sandbox
@pytest.mark.parametrize(
    ("body", "status", "fragments"),
    [
        (
            f"def train_student({PARAMETERS}):\n    raise ValueError('no optimizer yet')\n",
            "ran",
            ["Your function raised an error on the example digits", "ValueError: no optimizer yet"],
        ),
        (
            f"def train_student({PARAMETERS}):\n    return {{'loss': [1.0]}}\n",
            "ran",
            [
                "train_student returned a dict, not a training curve; return the losses to see your curve",
                "Likely mistake: student not trained",
            ],
        ),
        (
            f"def train({PARAMETERS}):\n    return []\n",
            "failed",
            [f"Define a function named train_student({PARAMETERS})."],
        ),
        (
            f"def train_student({PARAMETERS}):\n    while True:\n        pass\n",
            "timeout",
            ["Your code ran longer than the 5-second time limit."],
        ),
    ],
    ids=["raises", "wrong_return_type", "no_entry_point", "loops_forever"],
)
def test_broken_code_gets_the_graders_messages(body, status, fragments):
    limits = Limits(cpu_seconds=30, wall_seconds=5, memory_mb=1536, processes=32) if status == "timeout" else None
    report = examples_of(body, limits)
    assert report.status == status, report
    text = report.message if status != "ran" else report.examples[0]["error"] + report.examples[0]["advice"]
    for fragment in fragments:
        assert fragment in text, text


def test_the_example_draw_is_none_of_the_hidden_draws():
    grading = target(SLUG)
    [example] = KIND.examples(grading, "cpu")
    [again] = KIND.examples(grading, "cpu")
    x_train, y_train, _, y_test = load_split()
    labelled, transfer, validation = example.hidden.labelled, example.hidden.transfer, example.validation
    # Fixed and public: the same draw every time.
    assert all(torch.equal(example.case.args[k], again.case.args[k]) for k in ("transfer_x", "labeled_x", "labeled_y"))
    # A visible split of the training images: disjoint from what trains the student, and all of it scored.
    together = torch.cat([labelled, transfer, validation])
    assert together.unique().numel() == together.numel() == len(x_train)
    assert torch.equal(example.hidden.y_eval, y_train[validation])
    assert torch.bincount(y_train[validation]).tolist() == [20] * 10
    # torch seeds with the low 32 bits, so grading seeds congruent to the example's give its stream: still
    # another draw, because the example's data differs.
    seeds = [*range(12), EXAMPLE_SEED, EXAMPLE_SEED + 2**32, 2**62 + EXAMPLE_SEED, 2**63 - 1]
    for seed in seeds:
        [hidden] = KIND.draw(seed, grading, "cpu")
        assert hidden.case.args["transfer_x"].shape[0] == 1207 != example.case.args["transfer_x"].shape[0]
        assert not torch.equal(hidden.hidden.labelled, labelled)
        assert not torch.equal(hidden.case.args["labeled_x"], example.case.args["labeled_x"])
        assert torch.equal(hidden.hidden.y_eval, y_test)  # grading scores on the hidden test set, examples never


@pytest.mark.sandbox
@pytest.mark.django_db
def test_try_runs_train_student_through_the_task(api, challenge, monkeypatch, django_capture_on_commit_callbacks):
    """POST /try/, the Celery task in-process (on the test session's warm pool), then GET the run."""
    monkeypatch.setenv("GRADING_DEVICE", "cpu")
    monkeypatch.setattr(tasks, "POOL", active_pool())
    ran: list[tuple[str, limits.TaskBudget]] = []

    def run_now(run) -> None:
        budget = limits.task_budget(run.challenge.kind, limits.sandbox_limits(run.challenge.kind, run.challenge.limits))
        ran.append((tasks.run_examples.apply(args=(run.pk,)).get(), budget))

    monkeypatch.setattr(dispatch, "example_run_send", run_now)
    code = solution("hard_labels_only", SLUG) + '\nprint("labels only, on purpose")\n'
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/challenges/{SLUG}/try/", {"code": code}, format="json")
    assert response.status_code == 202, response.content
    # The run gets a submission's time budget, from the challenge's own limits.
    assert ran == [("ran", limits.task_budget(SLUG, limits.sandbox_limits(SLUG, challenge_limits())))]
    data = api.get(response.json()["url"]).json()
    assert data["status"] == "ran" and data["is_final"] and data["kind"] == SLUG and data["message"] == ""
    [row] = data["examples"]
    assert row["validation_images"] == 200 and row["steps"] == 300
    assert row["accuracy"] < row["min_accuracy"] and not row["meets_accuracy"]
    assert "soft targets were not used" in row["advice"]
    # The run's diagnosis is the row's advice's mistakes, in the same words (the tips stay in the advice).
    assert data["diagnosis"]["headline"] and row["advice"].startswith(data["diagnosis"]["headline"])
    assert [m["advisory"] for m in data["diagnosis"]["mistakes"]] == [False]
    assert "labels only, on purpose" in data["stdout"]
    # Not an attempt.
    assert not Submission.objects.exists() and ExampleRun.objects.count() == 1
    detail = api.get(f"/api/challenges/{SLUG}/").json()
    assert detail["examples"] is True and detail["attempts"] == 0 and detail["status"] == "not_tried"


@pytest.mark.django_db
def test_the_page_offers_the_examples_and_says_what_they_score(challenge, learner):
    from django.test import Client

    client = Client()
    client.force_login(learner)
    html = client.get(f"/challenges/{SLUG}/").content.decode()
    assert 'id="try-button"' in html and f'data-try-api="/api/challenges/{SLUG}/try/"' in html
    assert "200 validation images held out of that data" in html and "hidden test set that examples never touch" in html
