"""Run on examples end to end: the HTTP API, a real Celery worker, the sandbox pool, and no attempt counted."""

from __future__ import annotations

import time

import pytest

from challenges.models import ExampleRun, Submission

pytestmark = [pytest.mark.worker, pytest.mark.sandbox]


def run_on_examples(client, code: str, slug: str = "distillation-loss", timeout: float = 120) -> dict:
    response = client.post(f"/api/challenges/{slug}/try/", {"code": code}, format="json")
    assert response.status_code == 202, response.content
    url = response.json()["url"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = client.get(url).json()
        if data["is_final"]:
            return data
        time.sleep(0.1)
    raise AssertionError(f"run {url} not finished after {timeout}s: {data}")


def test_examples_run_on_a_real_worker(grading_worker, api, challenge, reference_code, swapped_kl_code):
    right = run_on_examples(api, reference_code + '\nprint("hello from my code")\n')
    assert right["status"] == "ran", right
    assert len(right["examples"]) == 3
    for example in right["examples"]:
        assert example["matches"] and example["gradient"] == "matches" and not example["error"]
        assert example["got"] == example["expected"]
        shapes = {i["name"]: i.get("shape") for i in example["inputs"]}
        assert shapes["student_logits"] == shapes["teacher_logits"] and len(shapes["labels"]) == 1
    assert "hello from my code" in right["stdout"]

    wrong = run_on_examples(api, swapped_kl_code)
    assert wrong["status"] == "ran"
    by_alpha = {next(i["value"] for i in e["inputs"] if i["name"] == "alpha"): e for e in wrong["examples"]}
    assert not by_alpha[1.0]["matches"] and by_alpha[1.0]["got"] != by_alpha[1.0]["expected"]
    assert by_alpha[0.0]["matches"]  # the hard-label term alone is right

    indexing = "def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):\n"
    broken = run_on_examples(api, indexing + "    return student_logits[99]\n")
    assert broken["status"] == "ran" and all("IndexError" in e["error"] for e in broken["examples"])
    crashing = run_on_examples(api, "import not_a_module\n")
    assert crashing["status"] == "failed" and "not_a_module" in crashing["message"]

    # None of it was an attempt.
    assert not Submission.objects.exists()
    assert api.get("/api/challenges/distillation-loss/").json()["attempts"] == 0
    assert ExampleRun.objects.count() == 4
