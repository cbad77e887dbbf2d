"""In real Chromium, against a real Celery worker: a wrong loss is named, a right one passes."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.fixtures.browser import sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.sandbox]


def set_code(page, code: str) -> None:
    """Replace the editor's text through its public API, as a paste would; then type a little for real."""
    page.evaluate("code => document.getElementById('id_code')._learnpathEditor.setValue(code)", code)
    page.locator(".cm-content").first.click()
    page.keyboard.press("Control+End")
    page.keyboard.type("\n# my attempt\n")


def test_wrong_then_right_solution(page, live_server, grading_worker, challenge, reference_code, swapped_kl_code):
    sign_up(page)
    page.goto("/challenges/distillation-loss/")
    expect(page.get_by_role("heading", name=challenge.title)).to_be_visible()
    expect(page.locator(".cm-editor").first).to_be_visible()
    expect(page.locator(".cm-content").first).to_contain_text("def distillation_loss(")

    # One hint, revealed on request.
    page.get_by_role("button", name="Show a hint").click()
    expect(page.locator("#hints-list li")).to_have_count(1)
    expect(page.get_by_role("button", name="Show a hint")).to_contain_text(f"{len(challenge.hints) - 1} left")

    set_code(page, swapped_kl_code)
    started = time.monotonic()
    page.get_by_role("button", name="Submit").click()
    verdict = page.locator("#verdict .verdict.is-failed")
    expect(verdict).to_be_visible(timeout=90_000)
    wrong_latency = time.monotonic() - started
    expect(verdict).to_contain_text("KL direction swapped")
    expect(verdict.locator(".check.fail").first).to_be_visible()
    expect(verdict.locator(".check.pass").first).to_be_visible()
    expect(page.locator("#solution")).to_be_hidden()
    expect(page.locator("#history details")).to_have_count(1)
    # The header's attempts and best score follow each verdict without a reload.
    expect(page.locator("#standing-detail")).to_have_text(re.compile(r"^1 attempt, best \d+%$"))
    expect(page.locator("#history details time").first).to_have_text(re.compile(r"^\d{1,2} \w{3}, \d{2}:\d{2}$"))

    set_code(page, reference_code)
    started = time.monotonic()
    page.get_by_role("button", name="Submit").click()
    passed = page.locator("#verdict .verdict.is-passed")
    expect(passed).to_be_visible(timeout=90_000)
    right_latency = time.monotonic() - started
    expect(passed).to_contain_text("All checks passed")
    expect(passed.locator(".check.fail")).to_have_count(0)
    expect(page.locator("#standing")).to_have_text("Passed")
    expect(page.locator("#standing-detail")).to_have_text("2 attempts, best 100%")
    expect(page.locator("#solution")).to_be_visible()
    expect(page.locator("#solution .cm-content")).to_contain_text('reduction="batchmean"')
    expect(page.locator("#history details")).to_have_count(2)
    page.locator("#history details").nth(1).locator("summary").click()
    expect(page.locator("#history details").nth(1)).to_contain_text("# my attempt")
    print(f"\nbrowser submit -> verdict: {wrong_latency:.2f}s (wrong), {right_latency:.2f}s (right)")

    # The verdict and the history survive a reload.
    page.reload()
    expect(page.locator("#verdict .verdict.is-passed")).to_be_visible()
    expect(page.locator("#solution")).to_be_visible()


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}])
def test_run_on_examples_counts_no_attempt(page, live_server, grading_worker, challenge, swapped_kl_code, viewport):
    page.set_viewport_size(viewport)
    sign_up(page)
    page.goto("/challenges/distillation-loss/")
    set_code(page, swapped_kl_code + '\nprint("checking my loss")\n')
    page.get_by_role("button", name="Run on examples").click()
    examples = page.locator("#examples")
    expect(examples.get_by_test_id("examples-summary")).to_be_visible(timeout=90_000)
    expect(examples.get_by_test_id("examples-summary")).to_contain_text("1 of 3 examples match")
    expect(examples.get_by_test_id("example")).to_have_count(3)
    first = examples.get_by_test_id("example").first
    expect(first).to_contain_text("student_logits: float32 (2, 3)")
    expect(first).to_contain_text("Expected")
    expect(first).to_contain_text("Yours")
    expect(examples.locator(".example.fail")).to_have_count(2)
    # What the learner printed is shown without a click.
    expect(examples.get_by_text("checking my loss")).to_be_visible()
    scroll_width, inner_width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= inner_width
    # Not an attempt: the standing and the history are untouched.
    expect(page.locator("#standing")).to_have_text("Not tried")
    expect(page.locator("#history")).to_contain_text("No attempts yet.")
    page.reload()
    expect(page.locator("#history")).to_contain_text("No attempts yet.")


def test_a_failing_headline_names_the_deciding_cause(page, live_server, grading_worker, challenge):
    """`kl_div(..., reduction="mean")` without detaching the teacher: the value is a fifth of the right one. The
    verdict's first sentence names the wrong reduction, the cause of the failing checks; detaching, which
    decides nothing (the training loop usually does it), is not mentioned at all."""
    from django.conf import settings

    code = (settings.BASE_DIR / "tests/grading/solutions/distillation-loss/reduction_mean_not_detached.py").read_text()
    sign_up(page)
    page.goto("/challenges/distillation-loss/")
    set_code(page, code)
    page.get_by_role("button", name="Submit").click()
    verdict = page.locator("#verdict .verdict.is-failed")
    expect(verdict).to_be_visible(timeout=90_000)
    feedback = verdict.locator(".verdict-feedback")
    expect(feedback).to_have_text(re.compile(r"^\s*Likely mistake: reduction='mean' instead of 'batchmean'\. "))
    expect(feedback).not_to_contain_text("detach")
    # What differed is said too: a fifth of the expected value (5 classes).
    expected, got = map(float, re.search(r"expected (\d+\.\d+), got (\d+\.\d+)", feedback.inner_text()).groups())
    assert got == pytest.approx(expected / 5, rel=1e-3)


def test_run_on_examples_teaches_the_diagnosis_and_the_inputs(page, live_server, grading_worker, challenge):
    """On a phone: the run opens with grading's own headline for these values, each example shows its inputs'
    values in a scrollable, focusable region, and what the code printed is shown as text, unfolded."""
    from django.conf import settings

    code = (settings.BASE_DIR / "tests/grading/solutions/distillation-loss/reduction_mean.py").read_text()
    page.set_viewport_size({"width": 390, "height": 844})
    sign_up(page)
    page.goto("/challenges/distillation-loss/")
    set_code(page, code + '\nprint("<b>my</b> loss")\n')
    page.get_by_role("button", name="Run on examples").click()
    examples = page.locator("#examples")
    diagnosis = examples.get_by_test_id("examples-diagnosis")
    expect(diagnosis).to_be_visible(timeout=90_000)
    expect(diagnosis).to_have_text(re.compile(r"^Likely mistake: reduction='mean' instead of 'batchmean'\. "))
    first = examples.get_by_test_id("example").first
    values = first.get_by_role("region", name="Values of student_logits")
    expect(values).to_be_visible()
    expect(values).to_have_attribute("tabindex", "0")
    rows = values.inner_text().strip().splitlines()
    assert len(rows) == 2 and all(len(row.split()) == 3 for row in rows), rows  # 2 x 3, a row per line
    assert float(rows[0].split()[0]) == pytest.approx(-1.305)
    expect(first.get_by_role("region", name="Values of labels")).to_have_text(re.compile(r"^\s*0\s+2\s*$"))
    expect(first).to_contain_text("temperature = 2")
    printed = examples.get_by_text("<b>my</b> loss")
    expect(printed).to_be_visible()
    expect(examples.locator(".example-output b")).to_have_count(0)
    scroll_width, inner_width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= inner_width
