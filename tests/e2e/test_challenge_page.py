"""The coding page never loses work, in real Chromium at desktop and phone width: the editor scrolls inside
itself, drafts survive a reload, reset asks first, hints are Markdown. No worker is needed here (the "Run on
examples" button, which needs one, is in test_challenge.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from tests.fixtures.browser import sign_up

pytestmark = [pytest.mark.e2e]

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
LONG_LINE = "x = " + " + ".join(f"teacher_logits_{i}" for i in range(120))
OVERFLOW = "() => [document.documentElement.scrollWidth, window.innerWidth]"


@pytest.fixture(params=sorted(VIEWPORTS))
def viewport(request, page):
    page.set_viewport_size(VIEWPORTS[request.param])
    return request.param


def editor_text(page) -> str:
    return page.evaluate("() => document.getElementById('id_code')._learnpathEditor.getValue()")


def type_in_editor(page, text: str) -> None:
    page.locator("#submit-form .cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.insert_text(text)


def assert_fits(page) -> None:
    scroll_width, inner_width = page.evaluate(OVERFLOW)
    assert scroll_width <= inner_width, f"the page is {scroll_width}px wide in a {inner_width}px window"


def test_no_horizontal_overflow(page, live_server, challenge, viewport):
    sign_up(page)
    page.goto("/challenges/")
    expect(page.get_by_test_id("challenge-item").first).to_be_visible()
    assert_fits(page)

    page.goto("/challenges/distillation-loss/")
    expect(page.locator("#submit-form .cm-editor")).to_be_visible()
    assert_fits(page)
    type_in_editor(page, "\n" + LONG_LINE + "\n")
    assert LONG_LINE in editor_text(page)
    assert_fits(page)
    # The editor scrolls sideways inside itself instead.
    scroller = page.locator("#submit-form .cm-scroller")
    assert scroller.evaluate("el => el.scrollWidth > el.clientWidth")


def test_draft_survives_a_reload_and_is_cleared_on_discard(page, live_server, challenge, viewport):
    sign_up(page)
    page.goto("/challenges/distillation-loss/")
    expect(page.locator("#submit-form .cm-editor")).to_be_visible()
    expect(page.locator("#draft-note")).to_be_hidden()
    type_in_editor(page, "\n# a draft worth keeping\n")
    expect(page.locator("#draft-status")).to_contain_text("Draft saved")

    page.reload()
    expect(page.locator("#draft-note")).to_be_visible()
    expect(page.locator("#draft-note")).to_contain_text("Restored your unsaved draft from")
    assert "# a draft worth keeping" in editor_text(page)

    page.get_by_role("button", name="Discard draft").click()
    expect(page.locator("#draft-note")).to_be_hidden()
    assert "# a draft worth keeping" not in editor_text(page)
    assert "def distillation_loss(" in editor_text(page)
    page.reload()
    expect(page.locator("#submit-form .cm-editor")).to_be_visible()
    expect(page.locator("#draft-note")).to_be_hidden()
    assert "# a draft worth keeping" not in editor_text(page)


def test_drafts_are_per_learner(page, live_server, challenge):
    sign_up(page, "ada")
    page.goto("/challenges/distillation-loss/")
    type_in_editor(page, "\n# ada's draft\n")
    expect(page.locator("#draft-status")).to_contain_text("Draft saved")
    page.context.clear_cookies()
    sign_up(page, "grace")
    page.goto("/challenges/distillation-loss/")
    expect(page.locator("#submit-form .cm-editor")).to_be_visible()
    expect(page.locator("#draft-note")).to_be_hidden()
    assert "# ada's draft" not in editor_text(page)


def test_reset_asks_first_and_can_be_undone(page, live_server, challenge, viewport):
    sign_up(page)
    page.goto("/challenges/distillation-loss/")
    type_in_editor(page, "\n# my work\n")

    page.get_by_role("button", name="Reset to starter code").click()
    dialog = page.get_by_role("dialog", name="Reset to starter code?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Keep my code").click()
    expect(dialog).to_be_hidden()
    assert "# my work" in editor_text(page)

    page.get_by_role("button", name="Reset to starter code").click()
    dialog.get_by_role("button", name="Reset", exact=True).click()
    expect(page.locator("#reset-note")).to_be_visible()
    assert "# my work" not in editor_text(page)
    assert editor_text(page) == challenge.starter_code
    page.get_by_role("button", name="Undo reset").click()
    expect(page.locator("#reset-note")).to_be_hidden()
    assert "# my work" in editor_text(page)


def test_hint_is_rendered_as_markdown(page, live_server, challenge, viewport):
    sign_up(page)
    page.goto("/challenges/distillation-loss/")
    page.get_by_role("button", name="Show a hint").click()
    hint = page.locator("#hints-list li").first
    expect(hint.locator("code").first).to_have_text("F.cross_entropy(student_logits, labels)")
    assert "`" not in hint.inner_text()
    # And the same after a reload, rendered by the page itself.
    page.reload()
    expect(page.locator("#hints-list li").first.locator("code").first).to_be_visible()
    assert "`" not in page.locator("#hints-list li").first.inner_text()
    assert_fits(page)


@pytest.mark.parametrize("locale", ["en-US", "de-DE"])
def test_times_are_24_hour_in_any_locale(browser, live_server, challenge, locale):
    """The page's own clock times read as the server's ("H:i", "j M, H:i"), even where the browser's locale would
    write "4:05 PM": the draft's "saved at" and "restored from" times."""
    context = browser.new_context(base_url=live_server.url, timezone_id="Europe/Berlin", locale=locale)
    context.set_default_timeout(15_000)
    context.clock.install(time=datetime(2026, 3, 2, 15, 7, tzinfo=UTC))  # 16:07 in Berlin
    page = context.new_page()
    try:
        sign_up(page)
        page.goto("/challenges/distillation-loss/")
        type_in_editor(page, "\n# a draft\n")
        expect(page.locator("#draft-status")).to_have_text("Draft saved in this browser at 16:07.")
        page.reload()
        expect(page.locator("#draft-time")).to_have_text("2 Mar, 16:07")
    finally:
        context.close()
