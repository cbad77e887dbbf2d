"""In real Chromium, against a real Celery worker: train-student's "Run on examples" shows the trained student's
validation figures beside the thresholds and the baseline, at phone and desktop width, and counts no attempt."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.test_challenge import set_code
from tests.fixtures.browser import sign_up
from tests.grading.conftest import solution

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.sandbox]


def test_training_examples_show_the_validation_scores(page, live_server, grading_worker, challenge):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_up(page)
    page.goto("/challenges/train-student/")
    expect(page.locator("#examples")).to_be_hidden()
    set_code(page, solution("hard_labels_only", "train-student") + '\nprint("only the labels")\n')
    page.get_by_role("button", name="Run on examples").click()
    examples = page.locator("#examples")
    expect(examples.get_by_test_id("examples-summary")).to_be_visible(timeout=120_000)
    expect(examples.get_by_test_id("examples-summary")).to_contain_text("below a threshold")
    example = examples.get_by_test_id("example")
    expect(example).to_have_count(1)
    expect(example).to_have_class("example fail")
    expect(example).to_contain_text("transfer_x: float32 (1007, 64)")
    table = example.get_by_role("table", name="Your student on 200 validation images")
    expect(table.get_by_role("columnheader", name="Needed to pass")).to_be_attached()
    accuracy = table.get_by_role("row", name="Accuracy")
    expect(accuracy).to_contain_text("(below it)")
    expect(accuracy).to_contain_text("92.0%")  # the challenge's min_accuracy
    # The labels-only baseline is a reference (the grader's own student), not a mark against the learner.
    expect(table.get_by_role("columnheader", name="Labels-only baseline (reference)")).to_be_attached()
    baseline = table.locator("td.reference")
    expect(baseline).to_have_count(2)
    for cell in baseline.all():
        assert "below" not in cell.inner_text() and "✗" not in cell.inner_text()
    assert baseline.first.evaluate("td => getComputedStyle(td).fontWeight") == "400"
    expect(example).to_contain_text("300 steps")
    expect(example).to_contain_text("Likely mistake: the teacher's soft targets were not used")
    examples.get_by_text("What your code printed (stdout)").click()
    expect(examples).to_contain_text("only the labels")
    for width, height in ((390, 844), (1280, 800)):
        page.set_viewport_size({"width": width, "height": height})
        scroll_width, inner_width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll_width <= inner_width, (width, scroll_width)
    # Not an attempt.
    expect(page.locator("#standing")).to_have_text("Not tried")
    expect(page.locator("#history")).to_contain_text("No attempts yet.")
