"""The pipeline demo (drops/static/drops/pipeline-demo.js) as shipped, on a bare page served without Django:
it reads its mount's data attributes, rejects bad ones for its defaults, adds its own stylesheet, and labels
every control."""

from __future__ import annotations

import pytest

from .test_static_widgets import _Handler, page, server  # noqa: F401  (fixtures: the static server, a guarded page)

pytestmark = pytest.mark.frontend

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<script type="module" src="/static/drops/pipeline-demo.js"></script></head>
<body><main>
<div id="custom" class="pipeline-demo" data-classes='["cat","dog","fox"]' data-teacher="[4,1,3]"
  data-student="[0,0,0]" data-label="2" data-t="2" data-alpha="0.8" data-steps="0"></div>
<div id="broken" data-demo="pipeline" data-teacher="[1,2]" data-t="-3" data-alpha="7" data-steps="oops"></div>
</main></body></html>"""


def bars(page, mount: str, prefix: str) -> list[float]:  # noqa: F811
    rows = page.locator(f"#{mount} [data-testid^='{prefix}-']")
    return [float(rows.nth(i).get_attribute("data-value")) for i in range(rows.count())]


def test_mount_options_defaults_and_labels(page, server):  # noqa: F811
    _Handler.pages["/pipeline.html"] = PAGE
    page.goto(f"{server}/pipeline.html")
    page.wait_for_selector('#custom[data-ready="true"]')
    page.wait_for_selector('#broken[data-ready="true"]')
    custom = page.locator("#custom")
    assert custom.locator("[data-testid^='pipeline-teacher-logit-']").count() == 3
    assert bars(page, "custom", "pipeline-hard-label") == [0, 0, 1]  # data-label="2": fox
    assert custom.get_by_test_id("pipeline-t-value").inner_text() == "2.0"
    assert custom.get_by_test_id("pipeline-alpha-value").inner_text() == "0.80"
    # No steps yet: the student after equals the student before (uniform from [0, 0, 0]).
    assert bars(page, "custom", "pipeline-student-after") == pytest.approx([1 / 3] * 3)

    broken = page.locator("#broken")  # a teacher of the wrong length, T < 0, α > 1, steps not a number
    assert broken.locator("[data-testid^='pipeline-teacher-logit-']").count() == 4
    assert broken.get_by_test_id("pipeline-t-value").inner_text() == "0.5"  # clamped into range
    assert broken.get_by_test_id("pipeline-alpha-value").inner_text() == "1.00"
    assert broken.get_by_test_id("pipeline-steps-value").inner_text() == "10"

    # Every control has an accessible name; the loss table has a caption; the stylesheet was added once.
    for control in page.locator("#custom input, #custom select").all():
        assert control.evaluate("node => node.labels && node.labels.length > 0"), control.get_attribute("id")
    assert custom.locator("table caption").count() == 1
    assert page.locator('link[href$="pipeline-demo.css"]').count() == 1

    # Editing a teacher logit moves the soft labels; an out-of-range one is flagged and ignored.
    before = bars(page, "custom", "pipeline-soft-label")
    page.get_by_label("Teacher logit for dog").fill("6")
    after = bars(page, "custom", "pipeline-soft-label")
    assert after[1] > before[1]
    page.get_by_label("Teacher logit for dog").fill("500")
    assert page.get_by_label("Teacher logit for dog").get_attribute("aria-invalid") == "true"
    assert bars(page, "custom", "pipeline-soft-label") == after
