"""The plan workshop in a real Chromium: fill in a plan, watch the calculator, save, download the Markdown."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.fixtures.browser import sign_up

pytestmark = pytest.mark.e2e

TEXT_FIELDS = {
    "Prompt or task": "Turn an analyst's question and the relevant schema into one SQL query.",
    "Current teacher model": "Hosted frontier model, 2026-11",
    "Candidate student": "Open-weight 7B code model",
    "Why this mode": "The output is text that needs a few steps, and the API returns only text.",
    "Where the training inputs come from": "Logged analyst questions, executed against staging; failures dropped.",
    "Evaluation set": "400 held-out questions with results checked by analysts.",
    "Behaviour and hallucination transfer": "Execution against the real schema catches invented columns.",
}
NUMBERS = {
    "Requests per month": "600000",
    "Teacher latency (ms)": "4000",
    "Student serving cost per request ($)": "0.0024",
    "Student latency (ms)": "900",
    "Number of training inputs": "25000",
    "Teacher outputs to generate (N)": "50000",
    "Teacher cost per generated output ($)": "0.0105",
    "Training cost ($)": "48",
    "Pass threshold (% of the teacher's score)": "95",
}


def _fill_worksheet(page) -> None:
    page.get_by_label("Title").fill("SQL assistant, v1")
    for label, value in TEXT_FIELDS.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_label("Distillation mode").select_option("trace")
    page.get_by_label("Offline or online").select_option("offline")
    page.get_by_label("Capacity gap", exact=True).fill("7B may lose on multi-join questions; 14B is the fallback.")
    page.get_by_label("Terms of use", exact=True).fill("Review the teacher's terms before generating data.")
    for label, value in NUMBERS.items():
        page.get_by_label(label, exact=True).fill(value)


def test_fill_save_and_download_a_plan(page, transactional_db):
    from django.contrib.auth.models import User

    from plans.models import DistillationPlan

    sign_up(page)
    page.goto("/plans/new/")
    summary = page.locator("[data-calc-summary]")
    saving = page.locator('[data-calc="monthly_saving"]')
    break_even = page.locator('[data-calc="break_even_requests"]')
    _fill_worksheet(page)

    # The token estimator fills the teacher's cost: 2,000 in + 300 out at $3 / $15 per million = $0.0105.
    page.get_by_text("Estimate the cost per request from tokens").click()
    page.get_by_label("Input tokens per request").fill("2000")
    page.get_by_label("Output tokens per request").fill("300")
    page.get_by_label("$ per million input tokens").fill("3")
    page.get_by_label("$ per million output tokens").fill("15")
    page.get_by_role("button", name="Use as the teacher's cost per request").click()
    assert page.get_by_label("Teacher cost per request ($)").input_value() == "0.0105"

    # The lesson's worked example, computed live.
    assert summary.get_attribute("aria-live") == "polite"
    page.wait_for_function("document.querySelector('[data-calc-summary]').textContent.includes('70,741')", timeout=5000)
    assert summary.inner_text() == "Breaks even after 70,741 requests, about 3.5 days at this volume."
    assert saving.inner_text() == "$4,860.00"
    assert break_even.inner_text() == "70,741"

    # One number changes: at a tenth of the volume the GPU costs $0.024 a request and the plan never pays off.
    student_cost = page.get_by_label("Student serving cost per request ($)")
    student_cost.fill("0.024")
    page.wait_for_function(
        "document.querySelector('[data-calc-summary]').textContent.startsWith('Never breaks even')", timeout=5000
    )
    assert break_even.inner_text() == "—"
    assert saving.inner_text() == "−$8,100.00"
    student_cost.fill("0.0024")
    page.wait_for_function("document.querySelector('[data-calc-summary]').textContent.includes('70,741')", timeout=5000)

    page.get_by_role("button", name="Save plan").click()
    page.wait_for_url("**/plans/*/")
    assert "Your worksheet is complete" in page.locator(".messages").inner_text()
    plan = DistillationPlan.objects.get(owner=User.objects.get(username="grace"))
    assert plan.is_complete
    assert str(plan.teacher_cost_per_request.normalize()) == "0.0105"
    # The saved page shows the same figures, rendered by the server and then by the script.
    assert summary.inner_text() == "Breaks even after 70,741 requests, about 3.5 days at this volume."

    with page.expect_download() as info:
        page.get_by_role("link", name="Download as Markdown").click()
    download = info.value
    assert download.suggested_filename == "distillation-plan-sql-assistant-v1.md"
    with open(download.path(), encoding="utf-8") as handle:
        markdown = handle.read()
    assert markdown.startswith("# Distillation plan: SQL assistant, v1\n")
    assert "**Trace distillation.** The output is text that needs a few steps" in markdown
    assert "| Monthly saving | $4,860.00 |" in markdown
    assert "| Break-even volume | 70,741 requests |" in markdown
    assert "- [ ] **Terms of use**: Review the teacher's terms before generating data." in markdown

    page.goto("/plans/")
    assert page.get_by_role("link", name="SQL assistant, v1", exact=True).is_visible()


def test_worksheet_fits_a_phone_and_works_from_the_keyboard(page, transactional_db):
    page.set_viewport_size({"width": 375, "height": 740})
    sign_up(page, username="lin")
    page.goto("/plans/new/")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    title = page.get_by_label("Title")
    title.focus()
    page.keyboard.type("Keyboard plan")
    page.get_by_label("Prompt or task").focus()
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.name") == "title"
    page.get_by_label("Requests per month").focus()
    page.keyboard.type("1000")
    page.get_by_label("Teacher cost per request ($)").focus()
    page.keyboard.type("0.01")
    page.wait_for_function(
        "document.querySelector('[data-calc=\"teacher_monthly_cost\"]').textContent === '$10.00'", timeout=5000
    )
    page.get_by_role("button", name="Save plan").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/plans/*/")
    assert "as a draft" in page.locator(".messages").inner_text()


def test_worksheet_below_the_last_drop_completes_it(page, transactional_db):
    """The worksheet panel on the drop page saves the plan, completes the drop and returns to the lesson."""
    from django.contrib.auth.models import User

    from drops.models import Drop, DropProgress
    from learnpath import services
    from learnpath.models import Path, Phase

    path = Path.objects.create(slug="plan-e2e", title="Plan e2e path")
    phase = Phase.objects.create(path=path, slug="plan", title="Distill one of your real prompts", position=1)
    Drop.objects.create(path=path, phase=phase, slug="intro", title="Intro", position=1, body_html="<p>Hi</p>")
    drop = Drop.objects.create(
        path=path,
        phase=phase,
        slug="plan-your-distillation",
        title="Plan your distillation",
        position=2,
        estimated_minutes=25,
        body_html="<p>Fill in the worksheet below.</p>",
    )
    sign_up(page, username="hopper")
    user = User.objects.get(username="hopper")
    services.enrollment_create(user=user, path=path)
    DropProgress.objects.create(user=user, drop=drop, unlocked_at=timezone.now() - timedelta(hours=1))

    page.goto(f"/drops/{drop.pk}/")
    worksheet = page.locator("#worksheet")
    assert worksheet.get_by_role("heading", name="Your distillation plan").is_visible()
    _fill_worksheet(page)
    page.get_by_label("Teacher cost per request ($)").fill("0.0105")
    page.get_by_role("button", name="Save plan").click()
    page.wait_for_url(f"**/drops/{drop.pk}/#worksheet")
    assert "Your worksheet is complete" in page.locator(".messages").inner_text()
    assert DropProgress.objects.get(user=user, drop=drop).completed_at is not None
    assert page.get_by_label("Title").input_value() == "SQL assistant, v1"
