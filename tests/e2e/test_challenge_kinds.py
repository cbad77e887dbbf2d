"""In real Chromium, against a real Celery worker: the train-student and sequence-distillation-loss kinds.

The final verdict is the server's rendering of ``challenges/_verdict.html``, fetched by the page's script once
the polled submission is final; these tests see it as a learner would, on a desktop and at phone width.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from playwright.sync_api import expect

from tests.e2e.test_challenge import set_code
from tests.fixtures.browser import sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.sandbox]

PHONE = {"width": 390, "height": 844}


def overflows(page) -> bool:
    """Whether the page scrolls sideways (a wide table or editor would; scroll boxes inside it do not count)."""
    return page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")


def test_train_student_shows_accuracy_agreement_and_curve(page, live_server, grading_worker, challenge):
    solution = (settings.CONTENT_DIR / "challenges" / "train-student" / "solution.py").read_text()
    sign_up(page)
    page.goto("/challenges/")
    expect(page.get_by_role("link", name="Challenges", exact=True)).to_have_attribute("aria-current", "page")
    items = page.get_by_test_id("challenge-item")
    expect(items).to_have_count(3)
    expect(items.nth(1)).to_contain_text("Not tried")
    items.nth(1).get_by_role("link", name="Train a student on handwritten digits").click()

    expect(page.get_by_role("heading", name="Train a student on handwritten digits")).to_be_visible()
    expect(page.locator("label[for=id_code]")).to_contain_text(
        "defines train_student(student, teacher, transfer_x, labeled_x, labeled_y, device)"
    )
    expect(page.locator(".cm-content").first).to_contain_text("def train_student(")
    set_code(page, solution)
    page.get_by_role("button", name="Submit").click()
    verdict = page.locator("#verdict .verdict.is-passed")
    expect(verdict).to_be_visible(timeout=120_000)
    expect(verdict).to_contain_text("Passed: your student reaches")

    table = verdict.get_by_test_id("student-metrics")
    expect(table).to_be_visible()
    expect(table.get_by_role("rowheader", name="Test accuracy")).to_be_visible()
    expect(table.get_by_role("rowheader", name="Agreement with the teacher")).to_be_visible()
    for column in ("Your student", "Needed", "Labels-only baseline"):
        expect(table.get_by_role("columnheader", name=column)).to_be_visible()
    expect(table.locator("td.metric.pass")).to_have_count(2)
    expect(table.locator("td.metric.pass").first).to_contain_text("pass")
    expect(verdict).to_contain_text("The teacher itself reaches")

    chart = verdict.locator("svg[data-testid=loss-curve]")
    expect(chart).to_be_visible()
    expect(chart.locator("path.loss-curve-line")).to_have_count(1)
    expect(chart.locator("title")).to_have_text("Training loss per step")
    expect(verdict.locator("figcaption")).to_contain_text("The loss fell from")
    expect(verdict.locator("figcaption")).to_contain_text("at step 300.")
    expect(page.locator("#standing")).to_have_text("Passed")

    # At phone width nothing scrolls sideways: not the page, not the table, and the chart scales down.
    page.set_viewport_size(PHONE)
    page.reload()
    expect(page.locator("#verdict svg[data-testid=loss-curve]")).to_be_visible()
    assert not overflows(page)
    wrap = page.locator("#verdict .table-wrap")
    assert wrap.evaluate("node => node.scrollWidth <= node.clientWidth")
    assert page.locator("#verdict svg").bounding_box()["width"] <= PHONE["width"]

    page.get_by_role("link", name="Challenges", exact=True).click()
    expect(page.get_by_test_id("challenge-item").nth(1)).to_contain_text("Passed")
    expect(page.get_by_test_id("challenge-item").nth(1)).to_contain_text("best score 100% · 1 attempt")
    assert not overflows(page)


def test_sequence_loss_names_the_padding_mistake(page, live_server, grading_worker, challenge):
    wrong = (
        settings.BASE_DIR / "tests" / "grading" / "solutions" / "sequence-distillation-loss" / "mean_over_padding.py"
    )
    sign_up(page)
    page.goto("/challenges/sequence-distillation-loss/")
    expect(page.get_by_role("heading", name="Distill a language model token by token")).to_be_visible()
    expect(page.locator("label[for=id_code]")).to_contain_text(
        "defines sequence_distillation_loss(student_logits, teacher_logits, attention_mask, temperature)"
    )
    set_code(page, wrong.read_text())
    page.get_by_role("button", name="Submit").click()
    verdict = page.locator("#verdict .verdict.is-failed")
    expect(verdict).to_be_visible(timeout=120_000)
    expect(verdict).to_contain_text("averaged over padding tokens too")
    expect(verdict.locator(".check.fail").first).to_be_visible()
    expect(verdict.locator("svg")).to_have_count(0)
    expect(page.locator("#standing")).to_have_text("Attempted")
