"""A review session in Chromium at desktop (1280×800) and phone (390×844) width: stacked full-width choices
picked with the number keys, the check's feedback on the same card with the learner's own choice, the
learner's rating after it, counters that move with every rating, and the summary at the end."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import expect

from drops.models import Drop, ReviewCard, ReviewLog
from drops.services import drop_complete
from learnpath import services
from tests.drops.conftest import build_path
from tests.fixtures.browser import assert_fits, sign_up  # and the `screen` fixture: desktop and phone

pytestmark = pytest.mark.e2e
MIN_TARGET_PX = 44


def counters(page) -> tuple[int, int]:
    left = int(page.get_by_test_id("reviews-left").locator("strong").inner_text())
    done = int(page.get_by_test_id("session-done").locator("strong").inner_text())
    return left, done


def choice_labels(page) -> list[str]:
    return [text.strip() for text in page.locator("label.choice .choice-text").all_inner_texts()]


def assert_stacked_full_width(page) -> None:
    boxes = [label.bounding_box() for label in page.locator("label.choice").all()]
    list_box = page.locator("ol.choice-list").bounding_box()
    assert len(boxes) == 3
    for above, below in zip(boxes, boxes[1:], strict=False):
        assert below["y"] >= above["y"] + above["height"]  # one answer per row, never side by side
    for box in boxes:
        assert box["height"] >= MIN_TARGET_PX
        assert abs(box["width"] - list_box["width"]) < 1 and abs(box["x"] - list_box["x"]) < 1


def submit_with_key(page, key: str) -> None:
    with page.expect_navigation():
        page.keyboard.press(key)
    page.wait_for_load_state("load")


def test_a_review_session_that_teaches(screen, settings):
    settings.FSRS_FUZZING = False
    sign_up(screen, "rosalind")
    user = User.objects.get(username="rosalind")
    path = build_path(slug="review-e2e", drops=3)
    services.enrollment_create(user=user, path=path)
    drop_complete(user=user, drop=Drop.objects.get(path=path, position=1), seconds_spent=60, now=timezone.now())
    cards = {c.card.kind: c.pk for c in ReviewCard.objects.filter(user=user).select_related("card")}

    screen.goto("/review/")
    assert_fits(screen)
    assert counters(screen) == (3, 0)

    # 1. Free recall: Space reveals, 3 rates Good. The card comes back in minutes, so it is still left today.
    screen.keyboard.press("Space")
    submit_with_key(screen, "3")
    assert counters(screen) == (3, 1)

    # 2. Multiple choice: stacked, full-width, large targets; 1–3 pick, Enter checks. A wrong pick.
    assert screen.locator("[data-review]").get_attribute("data-kind") == "choice"
    assert_stacked_full_width(screen)
    assert_fits(screen)
    shown = choice_labels(screen)
    assert sorted(shown) == ["A", "B", "C"]
    wrong = next(index for index, label in enumerate(shown) if label != "B")
    screen.keyboard.press(str(wrong + 1))
    assert screen.locator("input[data-choice]").nth(wrong).is_checked()
    submit_with_key(screen, "Enter")
    # The feedback is on the same card: the learner's choice, the right one, the explanation, Again suggested.
    assert screen.url.endswith(f"/review/{cards['choice']}/")
    feedback = screen.get_by_test_id("review-feedback")
    expect(feedback).to_be_visible()
    assert "Not quite." in screen.get_by_test_id("review-verdict").inner_text()
    rows = screen.get_by_test_id("choice-result")
    assert [text.split("\n")[0].strip() for text in rows.all_inner_texts()] == shown  # the order the learner saw
    assert rows.nth(wrong).get_by_test_id("your-answer").is_visible()
    assert rows.nth(shown.index("B")).get_by_test_id("correct-answer").is_visible()
    assert "B is right." in feedback.inner_text()
    assert screen.evaluate("() => document.activeElement.dataset.rating") == "1"  # Enter would take Again
    assert counters(screen) == (3, 1)  # nothing recorded by the check
    assert not ReviewLog.objects.filter(review_card_id=cards["choice"]).exists()
    assert_fits(screen)
    submit_with_key(screen, "2")  # the learner's call: a slip, Hard
    log = ReviewLog.objects.get(review_card_id=cards["choice"])
    assert (log.rating, log.correct, log.answer) == (2, False, shown[wrong])
    assert log.duration_ms > 0
    assert counters(screen) == (3, 2)

    # 3. A number: type it, Enter checks, Enter again takes the suggested Good.
    assert screen.locator("[data-review]").get_attribute("data-kind") == "numeric"
    screen.get_by_label("Your answer (a number)").fill("16")
    submit_with_key(screen, "Enter")
    assert "Right." in screen.get_by_test_id("review-verdict").inner_text()
    assert screen.get_by_test_id("your-answer").inner_text() == "16"
    assert screen.evaluate("() => document.activeElement.dataset.rating") == "3"
    submit_with_key(screen, "Enter")
    assert ReviewLog.objects.get(review_card_id=cards["numeric"]).rating == 3
    assert counters(screen) == (3, 3)

    # 4. The rest, rated Easy (graduating each card): every rating moves "done", graduating ones move "left".
    seen = [counters(screen)]
    for _ in range(10):
        if screen.get_by_test_id("session-summary").count():
            break
        kind = screen.locator("[data-review]").get_attribute("data-kind")
        if kind == "recall":
            screen.keyboard.press("Space")
        elif kind == "choice":
            right = choice_labels(screen).index("B")
            if screen.phone:
                screen.locator("label.choice").nth(right).tap()  # the whole row is the target
            else:
                screen.keyboard.press(str(right + 1))
            assert screen.locator("input[data-choice]").nth(right).is_checked()
            submit_with_key(screen, "Enter")
            assert "Right." in screen.get_by_test_id("review-verdict").inner_text()
        else:
            screen.get_by_label("Your answer (a number)").fill("16")
            submit_with_key(screen, "Enter")
        submit_with_key(screen, "4")
        seen.append(counters(screen))
    assert seen[-1] == (0, 6)
    assert [done for _, done in seen] == list(range(3, 7))
    assert all(later[0] <= earlier[0] for earlier, later in zip(seen, seen[1:], strict=False))

    # 5. The summary: cards, accuracy, minutes, streak and what comes next.
    summary = screen.get_by_test_id("reviews-done")
    expect(summary.get_by_role("heading", name="Session complete")).to_be_visible()
    assert screen.get_by_test_id("summary-cards").inner_text() == "3"
    assert screen.get_by_test_id("summary-accuracy").inner_text() == "83%"  # 5 of 6: one wrong choice
    assert "right or recalled (5 of 6)" in summary.inner_text()
    assert screen.get_by_test_id("summary-streak").inner_text().startswith("1")
    next_up = screen.get_by_test_id("whats-next").inner_text()
    assert re.search(r"Next drop: Day 2: Drop 2, unlocks \w+ \d+ \w+, 00:00", next_up)
    assert "Next review" in next_up
    assert_fits(screen)
