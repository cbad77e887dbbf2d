"""In real Chromium: a submission's phases, queue position and wait, as the page polls them (no worker needed).

The test plays the worker by changing the row; the page must follow it from queued to its verdict.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone
from playwright.sync_api import expect

from challenges import dispatch
from challenges.models import ExampleRun, Submission
from tests.fixtures.browser import sign_up

pytestmark = [pytest.mark.e2e]

CODE = "def distillation_loss(*a):\n    return 0\n"


def test_the_page_follows_a_submission_from_the_queue_to_its_verdict(
    page, live_server, challenge, make_user, monkeypatch
):
    monkeypatch.setattr(dispatch, "submission_send", lambda submission: None)  # nobody grades but this test
    other = make_user("bob")
    finished = timezone.now() - timedelta(minutes=1)
    Submission.objects.create(
        user=other,
        challenge=challenge,
        attempt=1,
        code=CODE,
        status="passed",
        started_at=finished - timedelta(seconds=20),
        finished_at=finished,
    )
    # Bob's second grading has just started on the one grader there is.
    now = timezone.now()
    Submission.objects.create(
        user=other, challenge=challenge, attempt=2, code=CODE, status="running", started_at=now,
        deadline_at=now + timedelta(minutes=5),
    )  # fmt: skip

    sign_up(page)
    page.goto("/challenges/distillation-loss/")
    page.get_by_role("button", name="Submit").click()
    verdict = page.locator("#verdict .verdict")
    expect(verdict).to_have_attribute("data-phase", "queued")
    expect(verdict).to_contain_text("Waiting for a free grader: yours is next.")
    # What is left of bob's 20 s, then its own 20 s (the seconds pass while the page loads).
    expect(verdict).to_contain_text(
        re.compile(r"Your verdict in about (35|40) s, from recent gradings of this challenge\.")
    )
    expect(verdict.locator("[aria-current=step]")).to_have_text("Queued")
    expect(page.locator("#submit-status")).to_have_text("Queued…")

    # Within a phase only the figures change: the rest of the box (and what it announced) stays.
    page.evaluate("document.querySelector('#verdict .verdict-phases').dataset.kept = 'yes'")
    # Bob's grading ends (as long as his last one took): the grader is free, and only its own 20 s are left.
    Submission.objects.filter(user=other, status="running").update(
        status="failed", finished_at=F("started_at") + timedelta(seconds=20)
    )
    expect(verdict).to_contain_text("Your verdict in about 20 s")
    expect(page.locator("#verdict .verdict-phases")).to_have_attribute("data-kept", "yes")

    mine = Submission.objects.get(user__username="grace")
    now = timezone.now()
    Submission.objects.filter(pk=mine.pk).update(
        status="running", started_at=now, deadline_at=now + timedelta(minutes=5)
    )
    expect(verdict).to_have_attribute("data-phase", "running")
    expect(verdict.locator("[aria-current=step]")).to_have_text("Running")
    expect(verdict).to_contain_text("usually take about 20 s")
    expect(page.locator("#submit-status")).to_have_text("Running…")

    Submission.objects.filter(pk=mine.pk).update(checking_at=timezone.now())
    expect(verdict.locator("[aria-current=step]")).to_have_text("Checking")
    expect(verdict).to_contain_text("checking what it returned against the reference")

    Submission.objects.filter(pk=mine.pk).update(
        status="failed",
        score=0.5,
        finished_at=timezone.now(),
        feedback="1 of 2 checks passed.",
        checks=[{"name": "runs", "passed": True, "message": "Ran."}, {"name": "soft", "passed": False, "message": "x"}],
    )
    expect(page.locator("#verdict .verdict.is-failed")).to_contain_text("1 of 2 checks passed.")
    expect(page.locator("#submit-status")).to_have_text("Failed.")
    expect(page.locator("#verdict .verdict-phases")).to_have_count(0)


def test_a_submission_queued_before_the_page_loaded_is_followed(page, live_server, challenge, monkeypatch):
    monkeypatch.setattr(dispatch, "submission_send", lambda submission: None)
    sign_up(page)
    page.goto("/challenges/distillation-loss/")
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#verdict .verdict")).to_contain_text("No estimate of the wait yet")

    page.reload()
    verdict = page.locator("#verdict .verdict")
    expect(verdict).to_contain_text("Waiting for a free grader: yours is next.")
    Submission.objects.filter(user__username="grace").update(
        status="passed", score=1.0, finished_at=timezone.now(), feedback="All checks passed."
    )
    expect(page.locator("#verdict .verdict.is-passed")).to_contain_text("All checks passed.")


def test_a_waiting_example_run_says_where_it_is(page, live_server, challenge, make_user, monkeypatch):
    """Run on examples waits in the same fair order as submissions, and the panel says so."""
    monkeypatch.setattr(dispatch, "example_run_send", lambda run: None)  # nobody runs it but this test
    other = make_user("bob")
    finished = timezone.now() - timedelta(minutes=1)
    for attempt in (1, 2):  # bob's gradings take 20 s; he was served a minute ago, and has two more waiting
        Submission.objects.create(
            user=other, challenge=challenge, attempt=attempt, code=CODE, status="passed",
            started_at=finished - timedelta(seconds=20), finished_at=finished,
        )  # fmt: skip
    for attempt in (3, 4):
        Submission.objects.create(user=other, challenge=challenge, attempt=attempt, code=CODE)

    sign_up(page)
    page.goto("/challenges/distillation-loss/")
    page.get_by_role("button", name="Run on examples").click()
    waiting = page.get_by_test_id("examples-waiting")
    # Never served before, this learner goes ahead of bob's backlog.
    expect(waiting).to_have_text("Waiting for a free grader: yours is next. Results in about 20 s.")
    run = ExampleRun.objects.get(user__username="grace")
    ExampleRun.objects.filter(pk=run.pk).update(status="running", started_at=timezone.now())
    expect(page.locator("#examples-result")).to_contain_text("Running your code on the examples…")
