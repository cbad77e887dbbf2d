"""A first day in Chromium, at desktop (1280×800) and phone (390×844) width: from the home page to day 1 in two
clicks, the public demos page signed out with nothing fetched from elsewhere, the pipeline demo answering its
controls (T, α, steps) in light and dark, and Today saying why to come back once day 1 is done."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from drops.models import Drop
from tests.fixtures.browser import assert_fits, only_from, open_screen, page_errors, sign_up

pytestmark = pytest.mark.e2e
PASSWORD = "an-unguessable-pass-42"


@pytest.fixture(params=[("desktop", "light"), ("phone", "dark")], ids=["desktop-light", "phone-dark"])
def screen(request, browser, live_server):
    size, scheme = request.param
    page = open_screen(browser, live_server.url, size, color_scheme=scheme)
    elsewhere = only_from(page.context, live_server.url)
    page.errors = page_errors(page)
    page.scheme = scheme
    yield page
    page.context.close()
    assert elsewhere == [], f"requests to other hosts: {elsewhere}"
    assert page.errors == [], f"JavaScript errors: {page.errors}"


def number(locator) -> float:
    return float(locator.get_attribute("data-value"))


def values(page, prefix: str) -> list[float]:
    bars = page.locator(f".pd-root [data-testid^='{prefix}-']")
    return [number(bars.nth(i)) for i in range(bars.count())]


def set_range(page, testid: str, value: str) -> None:
    """Move a slider as a pointer or keyboard would: the value changes and an input event fires."""
    page.get_by_test_id(testid).first.fill(value)


def test_home_to_day_one_in_two_clicks_then_a_reason_to_return(screen, content):
    first = Drop.objects.get(path=content, position=1)
    second = Drop.objects.get(path=content, position=2)
    screen.goto("/")
    screen.get_by_role("link", name="Sign up and start day 1").click()  # click 1
    expect(screen.get_by_label(f"Yes: enrol me in {content.title} and open day 1")).to_be_checked()
    screen.get_by_label("Username").fill("grace")
    screen.get_by_label("Password").fill(PASSWORD)
    screen.get_by_role("button", name="Sign up").click()  # click 2
    screen.wait_for_url(f"**/drops/{first.pk}/")
    expect(screen.get_by_role("heading", level=1)).to_have_text(first.title)
    expect(screen.get_by_text("day 1 is open")).to_be_visible()
    # Day 1 is interactive: the pipeline demo is built inside the lesson.
    expect(screen.locator('.pipeline-demo[data-ready="true"]')).to_have_count(1)
    assert_fits(screen)

    screen.get_by_role("button", name="Done").click()
    screen.wait_for_url("**/today/")
    tomorrow = screen.get_by_test_id("tomorrow")
    expect(tomorrow).to_contain_text(f"Day 2: {second.title}")
    expect(tomorrow.get_by_test_id("tomorrow-reviews")).to_contain_text("by the end of tomorrow")
    expect(tomorrow.get_by_test_id("tomorrow-streak")).to_contain_text("2-day streak")
    assert_fits(screen)


def test_sign_up_without_the_path_then_enrol_from_today(screen, content):
    first = Drop.objects.get(path=content, position=1)
    screen.goto("/accounts/signup/")
    screen.get_by_label("Username").fill("lin")
    screen.get_by_label("Password").fill(PASSWORD)
    screen.get_by_label("Not now: I will look around first").check()
    screen.get_by_role("button", name="Sign up").click()
    screen.wait_for_url("**/today/")
    screen.get_by_role("button", name=f"Enroll in {content.title}").click()
    screen.wait_for_url(f"**/drops/{first.pk}/")


def test_the_public_demos_page_and_the_pipeline_demo_controls(screen, content):
    response = screen.goto("/demos/")
    assert response.status == 200
    expect(screen.locator('.pipeline-demo[data-ready="true"]')).to_be_visible()
    expect(screen.locator('.temperature-demo[data-ready="true"]')).to_be_visible()
    expect(screen.get_by_role("link", name="Log in", exact=True)).to_be_visible()  # signed out
    assert_fits(screen)
    demo = screen.locator(".pd-root")
    assert demo.get_attribute("role") == "group"

    # The lesson's worked example before any step: T = 4, α = 0.5, true class 0.
    tid = screen.get_by_test_id
    assert tid("pipeline-soft-before").inner_text() == "0.7128"
    assert tid("pipeline-hard-before").inner_text() == "0.5347"
    assert tid("pipeline-total-before").inner_text() == "0.6237"
    assert values(screen, "pipeline-hard-label") == [1, 0, 0, 0]

    # T: higher flattens the soft labels; the hard label does not move.
    sharp = values(screen, "pipeline-soft-label")
    set_range(screen, "pipeline-t", "1")
    expect(tid("pipeline-t-value")).to_have_text("1.0")
    assert max(values(screen, "pipeline-soft-label")) > max(sharp)
    set_range(screen, "pipeline-t", "10")
    expect(tid("pipeline-t-value")).to_have_text("10.0")
    flat = values(screen, "pipeline-soft-label")
    assert max(flat) < max(sharp) and abs(sum(flat) - 1) < 1e-9
    assert values(screen, "pipeline-hard-label") == [1, 0, 0, 0]

    # α: all-teacher versus all-label training end in different students.
    set_range(screen, "pipeline-t", "4")
    set_range(screen, "pipeline-steps", "200")
    expect(tid("pipeline-steps-value")).to_have_text("200")
    set_range(screen, "pipeline-alpha", "1")
    expect(tid("pipeline-alpha-value")).to_have_text("1.00")
    teacher_only = values(screen, "pipeline-student-after")
    assert teacher_only[0] == pytest.approx(0.9354, abs=5e-4)  # the teacher's own distribution at T = 1
    assert number(tid("pipeline-soft-after")) < 1e-6
    set_range(screen, "pipeline-alpha", "0")
    expect(tid("pipeline-alpha-value")).to_have_text("0.00")
    label_only = values(screen, "pipeline-student-after")
    assert label_only[0] > 0.99 and label_only[1] < teacher_only[1]
    assert number(tid("pipeline-total-after")) == pytest.approx(number(tid("pipeline-hard-after")))

    # The keyboard drives it too: arrow keys on α, the step buttons, the true-class select.
    tid("pipeline-alpha").focus()
    screen.keyboard.press("ArrowRight")
    expect(tid("pipeline-alpha-value")).to_have_text("0.05")
    set_range(screen, "pipeline-steps", "0")
    expect(tid("pipeline-student-after-0")).to_have_attribute(
        "data-value", tid("pipeline-student-before-0").get_attribute("data-value")
    )
    screen.get_by_role("button", name="One more step").press("Enter")
    expect(tid("pipeline-steps-value")).to_have_text("1")
    tid("pipeline-label").select_option(label="social")
    assert values(screen, "pipeline-hard-label") == [0, 0, 1, 0]
    expect(demo.locator("p[role=status]")).to_contain_text("alpha 0.05, 1 step. Student after: spam")
    assert_fits(screen)

    # Light and dark: the demo's text follows the page's scheme.
    luminance = demo.evaluate(
        "node => { const [r, g, b] = getComputedStyle(node).color.match(/\\d+/g).map(Number);"
        " return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255; }"
    )
    assert (luminance > 0.6) if screen.scheme == "dark" else (luminance < 0.4)


def test_a_drop_shows_its_measured_minutes_and_folds_go_deeper(screen, content):
    """Day 1 says what its minutes are made of; its Go deeper section stays folded until the reader opens it,
    by its summary or by the link in "In this drop"."""
    first = Drop.objects.get(path=content, position=1)
    estimate = first.reading_estimate
    sign_up(screen, "ines")  # enrols in the path and opens day 1
    screen.wait_for_url(f"**/drops/{first.pk}/")
    expect(screen.get_by_test_id("reading-estimate")).to_contain_text(
        f"Measured: {estimate['minutes']} min, that is {estimate['reading_minutes']} reading"
    )
    assert estimate["minutes"] <= first.estimated_minutes
    fold = screen.locator("details[data-go-deeper]")
    inside = fold.locator("h3").first
    expect(fold).not_to_have_attribute("open", "")
    expect(inside).to_be_hidden()
    fold.locator("summary").click()
    expect(inside).to_be_visible()
    fold.locator("summary").click()  # folded again; the contents list opens it
    expect(inside).to_be_hidden()
    screen.get_by_role("navigation", name="In this drop").get_by_role("link", name="Go deeper").click()
    expect(inside).to_be_visible()
    expect(inside).to_be_in_viewport()
    assert_fits(screen)
