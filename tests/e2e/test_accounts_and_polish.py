"""In Chromium at desktop (1280×800) and phone (390×844) width: the password reset flow with the email read from
the test backend, the API docs rendering with no request to another host, readable progress labels, and no page
wider than the window."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from learnpath import services
from tests.fixtures.browser import assert_fits, sign_up  # and the `screen` fixture: desktop and phone

pytestmark = pytest.mark.e2e
PASSWORD = "an-unguessable-pass-42"
NEW_PASSWORD = "a-fresh-passphrase-for-61"


def visit(page, path: str, status: int = 200) -> None:
    response = page.goto(path)
    assert response.status == status, path
    page.wait_for_load_state("load")
    assert_fits(page)


def test_password_reset_by_email(screen, make_user):
    user = make_user("ada", password=PASSWORD)
    services.user_email_update(user=user, email="ada@example.org")
    mail.outbox.clear()

    visit(screen, "/accounts/login/")
    screen.get_by_role("link", name="Forgot your password?").click()
    expect(screen.get_by_role("heading", name="Reset your password")).to_be_visible()
    assert_fits(screen)
    screen.get_by_label("Email").fill("ada@example.org")
    screen.get_by_role("button", name="Email me a link").click()
    expect(screen.get_by_role("heading", name="Check your email")).to_be_visible()
    assert_fits(screen)

    assert len(mail.outbox) == 1  # the live server runs in this process: the locmem backend's outbox is ours
    link = re.search(r"https?://\S+/accounts/password/reset/\S+/", mail.outbox[0].body).group(0)
    assert link.startswith(screen.url.split("/accounts/")[0])  # the link names the site it was asked on
    screen.goto(link)
    expect(screen.get_by_role("heading", name="Choose a new password")).to_be_visible()
    assert_fits(screen)
    screen.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    screen.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    screen.get_by_role("button", name="Set new password").click()
    expect(screen.get_by_role("heading", name="Your password is changed")).to_be_visible()
    assert_fits(screen)

    screen.get_by_role("main").get_by_role("link", name="Log in").click()
    screen.get_by_label("Username").fill("ada")
    screen.get_by_label("Password").fill(NEW_PASSWORD)
    screen.get_by_role("button", name="Log in").click()
    screen.wait_for_url(lambda url: "/accounts/login/" not in url)

    screen.goto(link)  # a used link says so
    expect(screen.get_by_role("heading", name="This link no longer works")).to_be_visible()
    assert screen.failed_responses == []


@pytest.mark.parametrize(("path", "ready"), [("/api/docs/", ".swagger-ui .opblock"), ("/api/redoc/", "h1")])
def test_api_docs_render_from_this_server_alone(screen, live_server, path, ready):
    requested, refused = [], []
    screen.on("request", lambda request: requested.append(request.url))
    screen.on("requestfailed", lambda request: refused.append((request.url, request.failure)))
    screen.goto(path)
    # Redoc lays out the whole schema before its heading shows: allow it the context's 15 s on a busy machine.
    expect(screen.locator(ready).first).to_be_visible(timeout=15_000)
    expect(screen.get_by_text("learnpath API").first).to_be_visible()
    screen.wait_for_timeout(500)
    elsewhere = [url for url in requested if not url.startswith((live_server.url, "data:", "blob:"))]
    # Redoc's bundle asks a CDN for its "by Redocly" logo; the page's Content-Security-Policy stops it in the
    # browser, so nothing leaves for another host.
    assert [url for url in elsewhere if (url, "csp") not in refused] == []
    if path == "/api/docs/":
        assert elsewhere == []
    assert any("/static/drf_spectacular_sidecar/" in url for url in requested)
    assert screen.failed_responses == []


def test_pages_fit_the_window_and_chart_labels_stay_readable(screen, content):
    for path in ["/", "/accounts/signup/", "/accounts/login/", "/accounts/password/reset/"]:
        visit(screen, path)
    visit(screen, "/no-such-page/", status=404)
    expect(screen.get_by_role("heading", name="We could not find that page")).to_be_visible()

    sign_up(screen, "grace", PASSWORD)
    from django.contrib.auth.models import User

    services.enrollment_create(user=User.objects.get(username="grace"), path=content)
    screen.failed_responses.clear()
    for path in ["/today/", "/accounts/settings/", "/accounts/password/", "/progress/", "/challenges/"]:
        visit(screen, path)
    visit(screen, "/drops/99999/", status=404)
    assert screen.failed_responses == [screen.url]  # only the 404 itself

    visit(screen, "/progress/")
    labels = screen.locator(".phase-bar-label")
    assert labels.count() == 4
    for index in range(labels.count()):
        label = labels.nth(index)
        size = float(label.evaluate("node => getComputedStyle(node).fontSize").removesuffix("px"))
        assert 14 <= size <= 20  # the page's text size, whatever the width
        assert label.evaluate("node => node.scrollWidth <= node.clientWidth")  # never cut off
        assert not label.inner_text().endswith("…")
    minutes = screen.locator(".calendar-minutes").first
    assert float(minutes.evaluate("node => getComputedStyle(node).fontSize").removesuffix("px")) >= 11

    # The email field on the settings page, in the browser.
    visit(screen, "/accounts/settings/")
    screen.get_by_label("Email me a reminder when something is waiting").check()
    screen.get_by_role("button", name="Save settings").click()
    expect(screen.get_by_text("Add an email address to get reminders")).to_be_visible()
    assert_fits(screen)
    screen.get_by_label("Email address").fill("grace@example.org")
    screen.get_by_role("button", name="Save settings").click()
    expect(screen.get_by_text("Settings saved.")).to_be_visible()
    assert User.objects.get(username="grace").profile.email_reminders


def test_settings_is_in_the_navigation(screen, live_server):
    """Settings is a link of its own in the main navigation, at desktop and at phone width, not only the user
    name; on the page itself it is marked current."""
    sign_up(screen, "grace", PASSWORD)
    visit(screen, "/today/")
    nav = screen.get_by_role("navigation", name="Main")
    link = nav.get_by_role("link", name="Settings", exact=True)
    expect(link).to_be_visible()
    box = link.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= screen.viewport_size["width"]
    link.click()
    expect(screen.get_by_role("heading", name="Settings", level=1)).to_be_visible()
    expect(nav.get_by_role("link", name="Settings", exact=True)).to_have_attribute("aria-current", "page")
    assert_fits(screen)
