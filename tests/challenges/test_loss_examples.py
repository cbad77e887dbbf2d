"""Run on examples teaches, for the loss kinds: each example's input values (small ones in full, large ones
summarised), the learner's own printed output (bounded, as text), and grading's own ranked diagnosis of the
examples' values, in the words a submission's feedback would open with.

Through the kind protocol (``run_examples``, the real sandbox) and the HTTP API (the Celery task in-process).
"""

from __future__ import annotations

import pytest
import torch

from challenges import dispatch, tasks
from challenges.kinds.examples import (
    FULL_ELEMENTS,
    OUTPUT_CHARS,
    OUTPUT_CUT,
    diagnosis_of,
    input_view,
    run_examples,
)
from challenges.kinds.grader import Check, Evaluation, Mistake, decide
from tests.fixtures.sandbox import active_pool
from tests.grading.conftest import grade_code, solution, target

SLUG = "distillation-loss"
SEQUENCE = "sequence-distillation-loss"


def examples_of(name: str, slug: str = SLUG, extra: str = ""):
    return run_examples(target(slug), solution(name, slug) + extra, pool=active_pool())


def inputs_of(row: dict) -> dict[str, dict]:
    return {i["name"]: i for i in row["inputs"]}


@pytest.mark.sandbox
def test_a_wrong_reduction_gets_the_graders_headline_and_the_inputs_values():
    report = examples_of("reduction_mean")
    assert report.status == "ran"
    diagnosis = report.diagnosis
    assert diagnosis["headline"].startswith("Likely mistake: reduction='mean' instead of 'batchmean'. ")
    assert [m["key"] for m in diagnosis["mistakes"]] == ["reduction_mean"]
    assert not diagnosis["mistakes"][0]["advisory"] and "batchmean" in diagnosis["mistakes"][0]["explanation"]
    # The same words a submission's feedback opens with.
    verdict = grade_code(SLUG, solution("reduction_mean"))
    assert verdict.status == "failed" and verdict.feedback.startswith(diagnosis["headline"])

    for row in report.examples:
        inputs = inputs_of(row)
        student, labels = inputs["student_logits"], inputs["labels"]
        batch, classes = student["shape"]
        # Small inputs in full: rows of floats (4 significant digits), labels as integers, numbers as they are.
        assert len(student["values"]) == batch and all(len(r) == classes for r in student["values"])
        assert all(isinstance(x, float) and x == float(f"{x:.4g}") for r in student["values"] for x in r)
        assert labels["dtype"] == "int64" and all(type(x) is int and 0 <= x < classes for x in labels["values"])
        assert "summary" not in student and isinstance(inputs["alpha"]["value"], float)


@pytest.mark.sandbox
def test_a_right_loss_gets_no_diagnosis_and_its_printed_output_bounded():
    flood = 'print("<b>start</b>")\nfor i in range(2000):\n    print(f"line {i}")\nprint("the end")\n'
    report = examples_of("reference", extra="\n" + flood)
    assert report.status == "ran" and all(row["matches"] for row in report.examples)
    assert report.diagnosis == {"headline": "", "mistakes": []}
    # The end of what was printed, as text, at most OUTPUT_CHARS, saying the start was cut.
    assert len(report.stdout) <= OUTPUT_CHARS
    assert report.stdout.startswith(OUTPUT_CUT) and report.stdout.rstrip().endswith("the end")
    assert "<b>start</b>" not in report.stdout

    short = examples_of("reference", extra='\nprint("<b>tensor</b> & co")\n')
    assert short.stdout == "<b>tensor</b> & co\n"  # kept as it was printed: the page shows it as text


@pytest.mark.sandbox
def test_an_unknown_mistake_says_what_differed_on_the_examples():
    report = examples_of("unknown_mistake")
    assert report.diagnosis["mistakes"] == []
    headline = report.diagnosis["headline"]
    assert headline.startswith("No known mistake matches what your function returned: on a batch of 2, 3 classes")
    wrong = next(row for row in report.examples if not row["matches"])
    assert f"the expected loss is {wrong['expected']} and yours is {wrong['got']}" in headline


@pytest.mark.sandbox
def test_sequence_examples_summarise_large_logits_and_show_the_mask():
    report = examples_of("mean_over_padding", SEQUENCE)
    assert report.diagnosis["headline"].startswith("Likely mistake: averaged over padding tokens too. ")
    ragged = inputs_of(report.examples[0])
    logits = ragged["student_logits"]
    assert logits["shape"] == [2, 4, 6] and "values" not in logits
    assert logits["summary"].startswith("48 values; min ") and "first values: " in logits["summary"]
    assert ragged["attention_mask"]["values"] == [[1, 1, 1, 1], [1, 1, 0, 0]]
    single = inputs_of(report.examples[-1])
    assert single["attention_mask"]["dtype"] == "bool" and single["attention_mask"]["values"] == [[0, 1, 0]]
    assert len(single["student_logits"]["values"][0]) == 3  # 1 x 3 x 5: small enough to show


def test_a_large_tensor_is_summarised_not_dumped():
    mask = torch.zeros((3, 20), dtype=torch.bool)
    mask[0, :20], mask[1, :7], mask[2, :1] = True, True, True
    view = input_view("attention_mask", mask)
    assert view == {
        "name": "attention_mask",
        "shape": [3, 20],
        "dtype": "bool",
        "summary": "60 values; real tokens per sequence: 20, 7, 1; first values: 1, 1, 1, 1, 1, 1, …",
    }
    logits = torch.arange(1000, dtype=torch.float32).reshape(10, 100) / 3
    summary = input_view("teacher_logits", logits)["summary"]
    assert summary == "1,000 values; min 0, mean 166.5, max 333; first values: 0, 0.3333, 0.6667, 1, 1.333, 1.667, …"
    assert len(input_view("x", torch.ones(FULL_ELEMENTS))["values"]) == FULL_ELEMENTS
    assert "summary" in input_view("x", torch.ones(FULL_ELEMENTS + 1))
    assert input_view("x", torch.tensor([float("nan"), 1.0]))["values"] == ["nan", 1.0]  # JSON has no NaN


@pytest.mark.sandbox
@pytest.mark.django_db
def test_the_api_returns_the_diagnosis_the_values_and_the_output(
    api, challenge, monkeypatch, django_capture_on_commit_callbacks
):
    """POST /try/, the Celery task in-process (on the test session's warm pool), then GET the run."""
    monkeypatch.setenv("GRADING_DEVICE", "cpu")
    monkeypatch.setattr(tasks, "POOL", active_pool())
    monkeypatch.setattr(dispatch, "example_run_send", lambda run: tasks.run_examples.apply(args=(run.pk,)).get())
    code = solution("reduction_mean") + '\nprint("my loss is ready")\n'
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/challenges/{SLUG}/try/", {"code": code}, format="json")
    assert response.status_code == 202, response.content
    data = api.get(response.json()["url"]).json()
    assert data["status"] == "ran" and data["kind"] == SLUG
    assert data["diagnosis"]["headline"].startswith("Likely mistake: reduction='mean' instead of 'batchmean'.")
    assert data["diagnosis"]["mistakes"][0]["key"] == "reduction_mean"
    first = inputs_of(data["examples"][0])
    assert first["student_logits"]["shape"] == [2, 3] and len(first["student_logits"]["values"]) == 2
    assert first["temperature"] == {"name": "temperature", "value": 2.0}
    assert data["stdout"] == "my loss is ready\n"


@pytest.mark.parametrize("headline", ["", "On a batch of 2 the expected loss is 1 and yours is 2."])
@pytest.mark.parametrize("mistakes", [[], ["reduction", "tip"], ["reduction", "t_squared", "reduction"]])
def test_the_headline_is_what_a_failed_verdict_opens_with(mistakes, headline):
    known = {
        "reduction": Mistake("reduction", "reduction='mean'", "Use batchmean."),
        "t_squared": Mistake("t_squared", "T² missing", "Multiply by T²."),
        "tip": Mistake("tip", "in place", "Copy first.", advisory=True),
    }
    found = [known[k] for k in mistakes]
    diagnosis = diagnosis_of(found, headline)
    _, _, _, feedback = decide(Evaluation([Check("value", False, "Wrong.")], found, headline=headline), "Passed.")
    assert feedback.startswith(diagnosis["headline"])
    assert [m["key"] for m in diagnosis["mistakes"]] == list(dict.fromkeys(mistakes))
    if not found and not headline:
        assert diagnosis == {"headline": "", "mistakes": []}
