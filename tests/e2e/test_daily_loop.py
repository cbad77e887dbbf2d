"""The daily loop in a real Chromium: sign up, enrol, read and complete drop 1, review with the keyboard, see the
streak and progress, find drop 2 locked until the next local day, and flatten the teacher with the T slider."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from drops.models import Drop, DropProgress, ReviewLog, Streak
from learnpath import services as learnpath_services
from tests.fixtures.browser import sign_up

pytestmark = pytest.mark.e2e


def probabilities(page, testid: str = "teacher-prob") -> list[float]:
    bars = page.locator(f"[data-testid^='{testid}-']")
    return [float(bars.nth(i).get_attribute("data-value")) for i in range(bars.count())]


def test_a_day_of_learning(page, content):
    first = Drop.objects.get(path=content, position=1)
    second = Drop.objects.get(path=content, position=2)
    sign_up(page, "grace")  # starting the path is the sign-up form's default: it lands on day 1
    page.wait_for_url(f"**/drops/{first.pk}/")
    assert page.get_by_text(re.compile(r"about \d+ min$")).is_visible()
    assert page.get_by_test_id("reading-estimate").is_visible()
    assert page.get_by_role("navigation", name="In this drop").is_visible()
    page.wait_for_timeout(1200)  # a little reading time
    page.get_by_role("button", name="Done").click()
    page.wait_for_url("**/today/")
    assert page.get_by_test_id("streak").inner_text().startswith("1")
    assert "unlocks" in page.get_by_test_id("next-unlock").inner_text()

    # Review one card with the keyboard only: Space reveals the answer, 3 rates it Good.
    page.get_by_role("link", name="Start reviewing").click()
    page.wait_for_url("**/review/")
    left = int(page.get_by_test_id("reviews-left").locator("strong").inner_text())
    assert left >= 1
    answer = page.locator("[data-answer]")
    assert answer.is_hidden()
    page.keyboard.press("Space")
    assert answer.is_visible()
    page.keyboard.press("3")
    page.wait_for_load_state()
    page.get_by_text(re.compile("Rated Good. Next review")).wait_for()
    user = User.objects.get(username="grace")
    log = ReviewLog.objects.get(user=user)
    assert log.rating == 3 and log.duration_ms > 0

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Progress").click()
    page.wait_for_url("**/progress/")
    assert page.get_by_test_id("calendar").locator("li").count() == 14
    assert "1/14" in page.get_by_test_id("progress-stats").inner_text()
    assert page.get_by_test_id("streak").inner_text().startswith("1")

    # With reading ahead turned off, drop 2 is locked until the start of the learner's next local day.
    learnpath_services.profile_update(user=user, read_ahead_per_day=0)
    response = page.goto(f"/drops/{second.pk}/")
    assert response.status == 403
    unlock = page.get_by_test_id("unlocks-at").inner_text()
    assert "00:00" in unlock
    progress = DropProgress.objects.get(user=user, drop=second)
    local = timezone.localtime(progress.unlocked_at, user.profile.zone)
    assert (local.hour, local.minute) == (0, 0) and progress.unlocked_at > timezone.now()

    # Days later: the temperature drop. Raising T flattens the teacher's distribution.
    demo_drop = next(
        d for d in Drop.objects.filter(path=content) if 'data-demo="temperature"' in d.body_html.split("<details")[0]
    )  # the first drop that shows the demo in its core, not folded in Go deeper
    DropProgress.objects.update_or_create(user=user, drop=demo_drop, defaults={"unlocked_at": timezone.now()})
    page.goto(f"/drops/{demo_drop.pk}/")
    slider = page.get_by_test_id("temperature-slider").first
    slider.wait_for()
    slider.fill("1")
    sharp = probabilities(page)
    slider.fill("8")
    page.wait_for_function(
        "(old) => Number(document.querySelector('[data-testid=teacher-prob-0]').dataset.value) !== old", arg=sharp[0]
    )
    flat = probabilities(page)
    assert len(sharp) == len(flat) >= 2
    assert abs(sum(flat) - 1) < 1e-6
    assert max(flat) < max(sharp) and min(flat) > min(sharp)


def test_reading_ahead(page, content):
    """Finish today's drop, read the next one now: the outline and progress show it read ahead, the streak
    stays at one day, and the drop after it stays locked (one read-ahead a day by default)."""
    first, second, third = (Drop.objects.get(path=content, position=n) for n in (1, 2, 3))
    sign_up(page, "hedy")
    page.wait_for_url(f"**/drops/{first.pk}/")
    page.get_by_role("button", name="Done").click()
    page.wait_for_url("**/today/")
    assert page.get_by_test_id("streak").inner_text().startswith("1")

    page.get_by_test_id("read-ahead").click()  # "Read the next drop now"
    page.wait_for_url(f"**/drops/{second.pk}/")
    assert "reading ahead" in page.get_by_test_id("reading-ahead").inner_text()
    page.get_by_role("button", name="Done").click()
    page.wait_for_url("**/today/")
    page.get_by_text(re.compile("Read ahead: the day it would have unlocked")).wait_for()
    assert page.get_by_test_id("streak").inner_text().startswith("1")  # the same day, counted once
    assert page.get_by_test_id("read-ahead").count() == 0
    assert page.get_by_test_id("read-ahead-used").is_visible()
    assert "No new drop tomorrow" in page.get_by_test_id("tomorrow-no-drop").inner_text()
    user = User.objects.get(username="hedy")
    assert Streak.objects.get(user=user).current == 1
    progress = DropProgress.objects.get(user=user, drop=second)
    assert progress.completed_at < progress.unlocked_at

    page.goto(f"/paths/{content.slug}/")
    badge = page.locator(f"#drop-{second.pk}").get_by_test_id("read-ahead")
    assert badge.inner_text().startswith("Read ahead on")
    assert page.locator(f"#drop-{first.pk}").get_by_test_id("read-ahead").count() == 0

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Progress").click()
    page.wait_for_url("**/progress/")
    assert f"Day 2: {second.title}" in page.get_by_test_id("read-ahead-list").inner_text()
    assert page.get_by_test_id("streak").inner_text().startswith("1")

    response = page.goto(f"/drops/{third.pk}/")
    assert response.status == 403
    assert page.get_by_test_id("read-ahead-limit").is_visible()
