"""The pages a learner meets on the first day, and the certificate on the last, in a real Chromium, at desktop and
phone width, each in light and in dark mode: each one renders, fits its window, has no console error, and axe-core
finds no serious or critical accessibility violation on it (tests/e2e/axe.py). With ``SCREENSHOTS_DIR`` set
(``make screenshots``) each page at desktop/light and phone/dark is also saved there as a PNG; docs/screenshots/
holds the ones the README shows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from certificates.models import Certificate
from challenges.models import Challenge
from drops.models import Drop
from learnpath import services as learnpath_services
from tests.certificates.factories import all_but_last_drop, grade, path_challenges
from tests.e2e.axe import assert_accessible
from tests.fixtures.browser import sign_up

pytestmark = pytest.mark.e2e
SCREENS = {
    "desktop": {"viewport": {"width": 1280, "height": 800}, "color_scheme": "light"},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "color_scheme": "dark",
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    },
}
# The same walk in the other colour scheme at each width: no pictures, but every page passes axe in light and dark
# at both widths (what shows only at one width, like the plan calculator beside the worksheet, is checked in both).
SCREENS["desktop-dark"] = {**SCREENS["desktop"], "color_scheme": "dark"}
SCREENS["phone-light"] = {**SCREENS["phone"], "color_scheme": "light"}
PICTURED = ("desktop", "phone")


def _capture(page, out: Path | None, name: str, errors: list[str]) -> None:
    page.wait_for_load_state("networkidle")
    scroll, window = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= window, f"{name}: the page is {scroll} px wide in a {window} px window"
    assert not errors, f"{name}: {errors}"
    assert_accessible(page, name)
    if out is not None:
        page.screenshot(path=str(out / f"{name}.png"))


def _output(screen: str) -> Path | None:
    target = os.environ.get("SCREENSHOTS_DIR") if screen in PICTURED else None
    out = Path(target) if target else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    return out


def _open(browser, live_server, screen: str):
    """A page in the screen's size and colour scheme, and the console errors it logs."""
    context = browser.new_context(base_url=live_server.url, timezone_id="Europe/Berlin", **SCREENS[screen])
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return context, page, errors


@pytest.mark.parametrize("screen", list(SCREENS))
def test_the_first_day_in_pictures(browser, live_server, content, screen):
    out = _output(screen)
    context, page, errors = _open(browser, live_server, screen)
    try:
        page.goto("/")
        _capture(page, out, f"{screen}-home", errors)
        page.goto("/demos/")
        _capture(page, out, f"{screen}-demos", errors)

        page.goto("/accounts/signup/")
        _capture(page, None, f"{screen}-signup", errors)
        sign_up(page, f"ada-{screen}")
        first = Drop.objects.get(path=content, position=1)
        page.goto(f"/drops/{first.pk}/")
        _capture(page, out, f"{screen}-drop", errors)
        demo = page.locator(".pd-root")
        if demo.count():
            demo.first.scroll_into_view_if_needed()
            _capture(page, out, f"{screen}-drop-demo", errors)
        page.get_by_role("button", name="Done").click()
        page.wait_for_url("**/today/")
        _capture(page, out, f"{screen}-today", errors)

        page.goto("/review/")
        _capture(page, out, f"{screen}-review", errors)
        choices = page.locator("input[name=answer][type=radio]")
        if choices.count():  # a checked card: its feedback, on the same card
            choices.first.check()
            page.get_by_role("button", name="Check").click()
            page.wait_for_load_state()
        else:  # a free-recall card: the answer beside the ratings
            page.get_by_role("button", name="Show answer").click()
        _capture(page, out, f"{screen}-review-answer", errors)

        page.goto(f"/paths/{content.slug}/")
        _capture(page, out, f"{screen}-path", errors)
        page.goto("/progress/")
        _capture(page, out, f"{screen}-progress", errors)
        page.goto("/challenges/")
        _capture(page, None, f"{screen}-challenges", errors)
        page.goto("/accounts/settings/")
        _capture(page, None, f"{screen}-settings", errors)
        challenge = Challenge.objects.filter(is_active=True).order_by("slug").first()
        page.goto(f"/challenges/{challenge.slug}/")
        _capture(page, out, f"{screen}-challenge", errors)
    finally:
        context.close()
    assert User.objects.filter(username=f"ada-{screen}").exists()


@pytest.mark.parametrize("screen", list(SCREENS))
def test_the_certificate_in_pictures(browser, live_server, content, screen):
    out = _output(screen)
    context, page, errors = _open(browser, live_server, screen)
    try:
        sign_up(page, f"grace-{screen}")
        learner = User.objects.get(username=f"grace-{screen}")
        learnpath_services.enrollment_create(user=learner, path=content)
        last = all_but_last_drop(learner, content)
        for challenge, score in zip(path_challenges(content), (0.95, 1.0, 0.875), strict=True):
            grade(learner, challenge, score=score)
        page.goto(f"/drops/{last.pk}/")
        _capture(page, None, f"{screen}-last-drop", errors)
        page.get_by_role("button", name="Done").click()  # the last step: the certificate is issued
        page.wait_for_url(lambda url: f"/drops/{last.pk}/" not in url)
        _capture(page, None, f"{screen}-last-done", errors)
        page.goto("/today/")
        _capture(page, None, f"{screen}-last-today", errors)
        page.goto("/progress/")
        _capture(page, None, f"{screen}-last-progress", errors)
        page.goto("/certificates/")
        page.get_by_label("Name to print on your certificate").fill("Grace Hopper")
        page.get_by_role("button", name="Put this name on my certificate").click()
        page.wait_for_load_state()
        page.locator(".certificate-sheet").evaluate("sheet => sheet.scrollIntoView({block: 'start'})")
        _capture(page, out, f"{screen}-certificate", errors)
        certificate = Certificate.objects.get(user=learner, path=content)
        page.goto(f"/certificates/{certificate.public_id}/")
        _capture(page, out, f"{screen}-certificate-verify", errors)
    finally:
        context.close()
    assert Certificate.objects.get(user__username=f"grace-{screen}").name == "Grace Hopper"
