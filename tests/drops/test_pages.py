"""Browser pages through Django's test client: Today, reader, review session (no JavaScript), progress."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine

from drops.models import Drop, ReviewCard, ReviewLog
from drops.services import drop_complete
from tests.drops.conftest import build_path, enrol, utc

NOW = utc(2026, 6, 1, 9)


def text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def setup(client, make_user, db):
    path = build_path(drops=3)
    user = make_user("ines", timezone="Europe/Berlin")
    enrol(user, path, NOW - timedelta(hours=1))
    client.force_login(user)
    return user, path


def test_home_redirects_to_today(client, setup):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/today/"


def test_today_reader_complete_then_next_locked(client, setup):
    user, path = setup
    drop = Drop.objects.get(path=path, position=1)
    assert f"/drops/{drop.pk}/" in client.get("/today/").content.decode()
    assert "0 day streak" in text(client.get("/today/"))
    reader = client.get(f"/drops/{drop.pk}/").content.decode()
    assert "about 6 min" in reader and 'href="#s1"' in reader and ">Done<" in reader
    response = client.post(f"/drops/{drop.pk}/complete/", {"seconds_spent": "240"})
    assert response.status_code == 302 and response["Location"] == "/today/"
    page = text(client.get("/today/"))
    assert "1 day streak" in page and "unlocks Tuesday 2 June, 00:00" in page and "3 cards to review" in page
    second = Drop.objects.get(path=path, position=2)
    locked = client.get(f"/drops/{second.pk}/")
    assert locked.status_code == 403 and "unlocks on Tuesday 2 June, 00:00 , your time" in text(locked)


def test_review_session_without_javascript(client, setup, settings):
    settings.FSRS_FUZZING = False
    user, path = setup
    drop_complete(user=user, drop=Drop.objects.get(path=path, position=1), seconds_spent=60, now=NOW)
    assert "3 cards left today" in text(client.get("/review/"))
    cards = {c.card.kind: c for c in ReviewCard.objects.filter(user=user).select_related("card")}
    # A right choice is confirmed first, then rated; a wrong one is Again straight away.
    check = client.post(f"/review/{cards['choice'].pk}/", {"answer": "B"}).content.decode()
    assert "Correct:" in check and 'name="rating"' in check
    assert not ReviewLog.objects.exists()
    client.post(f"/review/{cards['choice'].pk}/", {"answer": "B", "rating": "3", "duration_ms": "4000"})
    client.post(f"/review/{cards['numeric'].pk}/", {"answer": "12"})
    client.post(f"/review/{cards['recall'].pk}/", {"rating": "4"})
    ratings = dict(ReviewLog.objects.values_list("review_card__card__kind", "rating"))
    assert ratings == {"choice": 3, "numeric": 1, "recall": 4}


def test_review_of_another_learners_card_is_404(client, setup, make_user):
    user, path = setup
    drop_complete(user=user, drop=Drop.objects.get(path=path, position=1), seconds_spent=60, now=NOW)
    card = ReviewCard.objects.filter(user=user).first()
    client.force_login(make_user("eve"))
    assert client.post(f"/review/{card.pk}/", {"rating": "1"}).status_code == 404
    assert not ReviewLog.objects.exists()


def test_progress_page_draws_charts_readable_without_colour(client, setup):
    user, path = setup
    drop_complete(user=user, drop=Drop.objects.get(path=path, position=1), seconds_spent=300, now=NOW)
    page = client.get("/progress/").content.decode()
    assert page.count('class="calendar-square"') == 14  # HTML cells: their text keeps the page's size
    assert 'role="progressbar" aria-valuenow="100"' in page
    assert "1 of 1 (100%)" in page  # phase 1 of the 3-drop path holds drop 1 only
    assert "✓" in page and "counts for the streak" in page


def test_pages_need_login(client, db):
    for url in ("/today/", "/review/", "/progress/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_progress_page_lists_only_my_plans(client, setup, make_user):
    from plans.services import plan_create

    user, _ = setup
    mine = plan_create(owner=user, title="Ticket router", task="Route support tickets.")
    plan_create(owner=make_user("mallory"), title="Someone else's secret plan", task="Hidden.")
    page = client.get("/progress/").content.decode()
    assert "Ticket router" in page
    assert f"/plans/{mine.pk}/export.md" in page
    assert "secret plan" not in page
