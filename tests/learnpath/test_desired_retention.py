"""Desired retention per learner: set in Settings or through the profile API, bounded, and used by the scheduler."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from drops.models import Drop, ReviewCard
from drops.services import drop_complete, review_card_rate
from learnpath.models import LearnerProfile
from learnpath.services import profile_update
from tests.drops.conftest import build_path, enrol
from tests.learnpath.forms import SETTINGS_FORM


@pytest.fixture
def page_client(learner):
    client = Client()
    client.force_login(learner)
    return client


def stored(user) -> float | None:
    return LearnerProfile.objects.get(user=user).desired_retention


def test_the_profile_api_reads_and_sets_the_desired_retention(api, learner, settings):
    settings.FSRS_DESIRED_RETENTION = 0.88
    shown = api.get("/api/me/").json()
    assert (shown["desired_retention"], shown["default_retention"]) == (None, 0.88)

    response = api.patch("/api/me/", {"desired_retention": 0.8}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["desired_retention"] == 0.8
    assert stored(learner) == 0.8
    assert api.get("/api/me/").json()["desired_retention"] == 0.8

    back = api.patch("/api/me/", {"desired_retention": None}, format="json")
    assert back.status_code == 200 and back.json()["desired_retention"] is None
    assert stored(learner) is None


@pytest.mark.parametrize("value", [0.5, 0.69, 0.98, 1, 97, -0.9])
def test_the_api_refuses_a_retention_out_of_bounds_with_a_clear_message(api, learner, value):
    response = api.patch("/api/me/", {"desired_retention": value}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["errors"]["desired_retention"] == ["Choose a desired retention between 70% and 97% (0.70 to 0.97)."]
    assert "desired_retention: Choose a desired retention between 70% and 97%" in body["detail"]
    assert stored(learner) is None


@pytest.mark.parametrize("value", ["high", "NaN", "Infinity", [0.9]])
def test_the_api_refuses_what_is_not_a_number(api, learner, value):
    response = api.patch("/api/me/", {"desired_retention": value}, format="json")
    assert response.status_code == 400
    assert "desired_retention" in response.json()["errors"]
    assert stored(learner) is None


def test_the_bounds_themselves_are_allowed(api, learner):
    for value in (0.7, 0.97):
        assert api.patch("/api/me/", {"desired_retention": value}, format="json").status_code == 200
        assert stored(learner) == value


def test_the_settings_page_explains_the_workload_and_saves_a_percentage(page_client, learner):
    page = page_client.get("/accounts/settings/").content.decode()
    assert 'name="desired_retention"' in page and 'min="70"' in page and 'max="97"' in page
    assert 'placeholder="90"' in page  # empty: the platform default
    table = page[page.index('data-testid="retention-workload"') :]
    assert "yours is 90%, the platform default" in table
    rows = re.findall(r"<td>(\d+)%.*?</td><td class=\"num\">([\d.]+) days</td><td class=\"num\">×([\d.]+)</td>", table)
    by_percent = {int(p): (float(days), float(reviews)) for p, days, reviews in rows}
    assert sorted(by_percent) == [70, 80, 85, 90, 95, 97]
    assert by_percent[90] == (10.0, 1.0)
    # Higher retention: sooner reviews, more of them.
    days = [by_percent[p][0] for p in sorted(by_percent)]
    assert days == sorted(days, reverse=True)
    assert by_percent[97][1] > 3 and by_percent[70][1] < 0.2

    response = page_client.post("/accounts/settings/", SETTINGS_FORM | {"desired_retention": "85"})
    assert response.status_code == 302
    assert stored(learner) == 0.85
    again = page_client.get("/accounts/settings/").content.decode()
    assert 'value="85"' in again and "yours is 85%." in again

    page_client.post("/accounts/settings/", SETTINGS_FORM | {"desired_retention": ""})
    assert stored(learner) is None


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("60", "Choose a desired retention between 70% and 97%."),
        ("0.9", "Choose a desired retention between 70% and 97%."),
        ("99", "Choose a desired retention between 70% and 97%."),
        ("lots", "Enter your desired retention as a number of percent, between 70 and 97."),
    ],
)
def test_the_settings_page_refuses_a_retention_out_of_bounds(page_client, learner, typed, message):
    profile_update(user=learner, desired_retention=0.8)
    response = page_client.post("/accounts/settings/", SETTINGS_FORM | {"desired_retention": typed})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert stored(learner) == 0.8


def test_the_scheduler_spaces_reviews_by_each_learner_s_retention(make_user, settings):
    """Two learners give the same ratings; the one who wants to remember more sees the card again sooner."""
    settings.FSRS_FUZZING = False
    path = build_path("retention")
    at = datetime(2026, 6, 1, 7, tzinfo=UTC)
    due = {}
    for retention in (0.75, 0.95):
        user = make_user()
        profile_update(user=user, desired_retention=retention)
        enrol(user, path, at - timedelta(hours=1))
        drop_complete(user=user, drop=Drop.objects.get(path=path, position=1), seconds_spent=300, now=at)
        card = ReviewCard.objects.get(user=user, card__kind="recall")
        review_card_rate(user=user, review_card_id=card.pk, rating=3, now=at)  # first learning step
        card.refresh_from_db()
        review_card_rate(user=user, review_card_id=card.pk, rating=3, now=card.due)  # graduates to Review
        card.refresh_from_db()
        assert card.state == ReviewCard.State.REVIEW
        due[retention] = card.due - card.last_review
    assert due[0.95] < due[0.75]
