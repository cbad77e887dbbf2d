"""A real Celery worker process grades submissions end to end; a killed worker leaves nothing stuck."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from challenges import limits, services
from challenges.models import Submission
from tests.fixtures.worker import wait_for_verdict

pytestmark = [pytest.mark.worker, pytest.mark.sandbox]


def submit(client, code: str) -> int:
    response = client.post("/api/challenges/distillation-loss/submissions/", {"code": code}, format="json")
    assert response.status_code == 202, response.content
    return response.json()["id"]


def poll(client, submission_id: int, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = client.get(f"/api/submissions/{submission_id}/").json()
        if data["is_final"]:
            return data
        time.sleep(0.1)
    raise AssertionError(f"no verdict for {submission_id} after {timeout}s: {data}")


def test_real_worker_grades_end_to_end(grading_worker, api, challenge, reference_code, swapped_kl_code):
    started = time.monotonic()
    passed = poll(api, submit(api, reference_code))
    first_latency = time.monotonic() - started
    assert passed["status"] == "passed", passed["feedback"]
    assert passed["score"] == 1.0 and all(check["passed"] for check in passed["checks"])
    assert passed["device"] in ("cpu", "cuda") and passed["worker_host"].startswith("test1-")
    assert passed["timings"]["total_seconds"] > 0
    assert passed["started_at"] and passed["finished_at"]

    started = time.monotonic()
    failed = poll(api, submit(api, swapped_kl_code))
    second_latency = time.monotonic() - started
    assert failed["status"] == "failed"
    assert "KL direction swapped" in failed["mistakes"]
    assert "KL direction swapped" in failed["feedback"]
    assert 0 < failed["score"] < 1
    print(f"\nsubmit -> verdict with a real worker: {first_latency:.2f}s (reference), {second_latency:.2f}s (mistake)")

    detail = api.get("/api/challenges/distillation-loss/").json()
    assert detail["status"] == "passed" and detail["attempts"] == 2
    assert detail["solution_code"] == challenge.solution_code
    assert grading_worker.process.poll() is None, "the worker must keep serving"


def test_worker_killed_mid_grade_leaves_no_submission_stuck(start_worker, api, challenge, reference_code):
    # A correct solution that takes a while to import, so the worker is certainly mid-grade when it dies.
    slow = "import time\ntime.sleep(6)\n" + reference_code
    worker = start_worker()
    submission_id = submit(api, slow)
    deadline = time.monotonic() + 60
    while Submission.objects.get(pk=submission_id).status != Submission.Status.RUNNING:
        assert time.monotonic() < deadline, worker.log()[-3000:]
        time.sleep(0.05)
    time.sleep(1.5)
    worker.kill()
    submission = Submission.objects.get(pk=submission_id)
    assert submission.status == Submission.Status.RUNNING and submission.grading_runs == 1

    # Nothing happens before the message's hard time limit (the longest any challenge has: a message may claim
    # any challenge's work) has certainly passed...
    budget = limits.slot_budget()
    assert submission.deadline_at == submission.started_at + timedelta(seconds=budget.reap_after_seconds)
    assert services.submissions_reap() == {"requeued": [], "errored": []}
    # ...after it, the reaper queues it again, and a fresh worker grades it.
    later = submission.deadline_at + timedelta(seconds=1)
    assert services.submissions_reap(now=later) == {"requeued": [submission_id], "errored": []}
    assert Submission.objects.get(pk=submission_id).status == Submission.Status.QUEUED
    start_worker()
    regraded = wait_for_verdict(submission_id)
    assert regraded.status == Submission.Status.PASSED, regraded.feedback
    assert regraded.grading_runs == 2 and regraded.worker_host.startswith("test2-")


def test_a_crafted_result_ends_in_a_verdict_and_the_next_is_graded_pooled(
    grading_worker, api, challenge, reference_code
):
    """A frame built to crash the decoder: a final verdict, the worker alive, the next run forked from its zygote."""
    crafted = (
        "import os, struct, sys\n"
        "def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):\n"
        '    m = b\'{"version": 1, "status": "ok", "cases": [\' + b\'9\' * 100000 + b\']}\'\n'
        "    os.write(int(sys.argv[1]), b'LPRES1\\n' + struct.pack('>Q', len(m)) + m + struct.pack('>Q', 0))\n"
        "    os._exit(0)\n"
    )
    verdict = poll(api, submit(api, crafted), timeout=60)
    assert verdict["status"] == "failed" and verdict["score"] == 0
    assert "without reporting results" in verdict["feedback"]
    # The worker's zygote is untouched by that run: the next submission is forked from it too.
    passed = poll(api, submit(api, reference_code), timeout=60)
    assert passed["status"] == "passed", passed["feedback"]
    assert passed["timings"]["pooled"] == 1.0
    assert grading_worker.process.poll() is None
    # At start-up the worker said what isolation this host gives (all of it, on these machines).
    assert "sandbox: bubblewrap, seccomp filter and per-run cgroups available" in grading_worker.log()
