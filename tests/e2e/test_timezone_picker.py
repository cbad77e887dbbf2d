"""In Chromium: the timezone picker's search box narrows the grouped list as the learner types, and the zone
picked from what is left is the one saved."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from learnpath.models import LearnerProfile
from tests.fixtures.browser import page_errors, sign_up

pytestmark = pytest.mark.e2e


def test_typing_narrows_the_timezones_and_the_picked_one_is_saved(page):
    sign_up(page, "tzuser")
    page.goto("/accounts/settings/")
    select = page.locator("select#id_timezone")
    search = page.get_by_role("searchbox", name="Search timezones")
    expect(search).to_be_visible()  # shown by the script; hidden when there is none

    search.fill("kolk")
    visible = select.locator("option:not([hidden])")
    expect(visible).to_have_count(2)  # Kolkata among the common zones and under Asia
    expect(select.locator("optgroup:not([hidden])")).to_have_count(2)
    assert set(visible.evaluate_all("options => options.map(o => o.value)")) == {"Asia/Kolkata"}
    assert select.input_value() == "Asia/Kolkata"  # the first match is chosen for the learner

    search.fill("buenos aires")  # spaces match the names' underscores
    expect(select.locator('option[value="America/Argentina/Buenos_Aires"]:not([hidden])')).to_have_count(2)
    expect(select.locator('option[value="Europe/Berlin"]:not([hidden])')).to_have_count(0)
    search.fill("nowhere at all")
    expect(page.get_by_text("No timezone matches that search.")).to_be_visible()

    search.fill("tokyo")
    select.select_option("Asia/Tokyo")
    page.get_by_role("button", name="Save settings").click()
    page.wait_for_load_state("load")
    assert LearnerProfile.objects.get(user__username="tzuser").timezone == "Asia/Tokyo"
    assert page_errors(page) == []
