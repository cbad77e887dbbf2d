"""Review on a 390×844 phone in dark mode: Show answer, the verdict and the four ratings on screen without a
scroll (the bar fixed to the bottom covers no content), each rating saying when the card comes back, the new /
learning / review counters moving with each rating; and the Cards page suspending a card, which leaves the
review."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from drops.models import ReviewCard
from tests.fixtures.browser import assert_fits, learner_with_cards, open_screen

pytestmark = pytest.mark.e2e
INTERVAL = re.compile(r"^\d+(\.\d)?(m|h|d|mo|y)$")


@pytest.fixture
def phone(browser, live_server, settings):
    settings.FSRS_FUZZING = False
    page = open_screen(browser, live_server.url, "phone", color_scheme="dark")
    yield page
    page.context.close()


LONG_EXPLANATION = "B is right. " + "A longer explanation that pushes the page down on a phone. " * 6


def in_viewport(page, locator) -> bool:
    box = locator.bounding_box()
    size = page.viewport_size
    return (
        box is not None
        and box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= size["width"]
        and box["y"] + box["height"] <= size["height"]
    )


def counts(page) -> tuple[int, int, int]:
    return tuple(int(page.get_by_test_id(f"count-{name}").locator("strong").inner_text()) for name in
                 ("new", "learning", "review"))  # fmt: skip


def assert_ratings_on_screen(page) -> None:
    buttons = page.locator("[data-rating]")
    assert buttons.count() == 4
    for index in range(4):
        assert in_viewport(page, buttons.nth(index)), f"rating {index + 1} is below the fold"
        assert INTERVAL.match(buttons.nth(index).get_by_test_id("rating-interval").inner_text())
    expect(page.get_by_role("button", name=re.compile(r"^Good \(back in \d"))).to_be_visible()


def assert_bar_covers_nothing(page) -> None:
    """Scrolled to the very end, the last thing on the page is above the bar."""
    page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
    bar = page.locator(".review-bar:visible").bounding_box()
    last = page.get_by_test_id("review-keys").bounding_box()
    assert last["y"] + last["height"] <= bar["y"] + 1
    page.evaluate("() => window.scrollTo(0, 0)")


def submit(page, action) -> None:
    with page.expect_navigation():
        action()
    page.wait_for_load_state("load")


def test_review_fits_a_thumb(phone):
    user, drop = learner_with_cards(phone, "ada", path_slug="thumb-ada", explanation=LONG_EXPLANATION)
    phone.goto("/review/")
    assert_fits(phone)
    assert counts(phone) == (3, 0, 0)

    # Free recall: Show answer is on screen, then the four ratings, each with its interval.
    reveal = phone.get_by_role("button", name=re.compile("Show answer"))
    assert in_viewport(phone, reveal)
    reveal.tap()
    assert_ratings_on_screen(phone)
    assert phone.get_by_role("button", name="Again (back in 1 minute)").is_visible()
    assert phone.get_by_role("button", name="Good (back in 10 minutes)").is_visible()
    assert_bar_covers_nothing(phone)
    submit(phone, lambda: phone.get_by_role("button", name=re.compile(r"^Good \(back in")).tap())
    assert counts(phone) == (2, 1, 0)  # a new card became a learning one

    # Multiple choice, a long explanation: after Check the question, the verdict and the ratings are on screen.
    assert phone.locator("[data-review]").get_attribute("data-kind") == "choice"
    phone.get_by_role("radio", name="A", exact=True).tap()
    submit(phone, lambda: phone.get_by_role("button", name=re.compile("^Check")).tap())
    verdict = phone.get_by_test_id("review-verdict")
    assert "Not quite." in verdict.inner_text()
    assert in_viewport(phone, verdict)
    assert in_viewport(phone, phone.locator("#prompt"))
    assert_ratings_on_screen(phone)
    assert_bar_covers_nothing(phone)
    assert_fits(phone)
    submit(phone, lambda: phone.get_by_role("button", name=re.compile(r"^Easy \(back in")).tap())
    assert counts(phone) == (1, 1, 0)  # graduated: out of today's counts


def test_the_cards_page_suspends_a_card_and_it_leaves_the_review(phone):
    user, drop = learner_with_cards(phone, "bea", path_slug="thumb-bea", explanation=LONG_EXPLANATION)
    numeric = ReviewCard.objects.get(user=user, card__kind="numeric")
    phone.goto("/review/")
    assert counts(phone) == (3, 0, 0)
    phone.get_by_role("link", name="Your cards").first.tap()
    phone.wait_for_url("**/cards/")
    assert_fits(phone)
    rows = phone.get_by_test_id("deck-card")
    expect(rows).to_have_count(3)
    row = phone.locator(f"[data-card-id='{numeric.pk}']")
    assert row.get_by_test_id("card-state").inner_text() == "New"
    submit(phone, lambda: row.get_by_role("button", name=re.compile("^Suspend")).tap())
    row = phone.locator(f"[data-card-id='{numeric.pk}']")
    assert row.get_by_test_id("card-state").inner_text() == "Suspended"
    expect(row.get_by_role("button", name=re.compile("^Resume"))).to_be_visible()

    phone.goto("/review/")
    assert counts(phone) == (2, 0, 0)
    seen = set()
    for _ in range(6):  # rate everything Easy: the suspended card never comes up
        if phone.get_by_test_id("reviews-done").count():
            break
        kind = phone.locator("[data-review]").get_attribute("data-kind")
        seen.add(kind)
        if kind == "recall":
            phone.get_by_role("button", name=re.compile("Show answer")).tap()
        else:
            phone.get_by_role("radio", name="B", exact=True).tap()
            submit(phone, lambda: phone.get_by_role("button", name=re.compile("^Check")).tap())
        submit(phone, lambda: phone.get_by_role("button", name=re.compile(r"^Easy \(back in")).tap())
    assert seen == {"recall", "choice"}
    expect(phone.get_by_test_id("reviews-done")).to_be_visible()

    # Practice over the drop's cards: nothing recorded.
    phone.goto(f"/drops/{drop.pk}/")
    submit(phone, lambda: phone.get_by_role("link", name="Review this drop's cards now").tap())
    assert "practice only" in phone.get_by_test_id("practice-note").inner_text()
    before = list(ReviewCard.objects.filter(user=user).values_list("pk", "due", "last_review"))
    phone.get_by_role("button", name=re.compile("Show answer")).tap()
    got_it = phone.get_by_role("button", name=re.compile("Got it"))
    assert in_viewport(phone, got_it)
    submit(phone, lambda: got_it.tap())
    assert list(ReviewCard.objects.filter(user=user).values_list("pk", "due", "last_review")) == before
