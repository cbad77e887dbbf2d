"""The learner's own cards: the list with filters, suspend and resume, the session's new/learning/review
counts, the rating buttons' intervals, and the practice run over one drop's cards that writes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from drops.models import Drop, ReviewCard, ReviewLog
from drops.services import drop_complete, review_card_rate
from tests.conftest import api_client_for
from tests.drops.conftest import build_path, enrol, utc

NOW = utc(2026, 6, 1, 9)


@pytest.fixture(autouse=True)
def frozen(fsrs_no_fuzz):
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def path(db):
    return build_path(drops=3)


def learner(make_user, path, name: str):
    user = make_user(name, timezone="Europe/Berlin")
    enrol(user, path, NOW - timedelta(hours=1))
    drop_complete(user=user, drop=Drop.objects.get(path=path, position=1), seconds_spent=60, now=NOW)
    client = api_client_for(user)
    client.user = user
    return client


@pytest.fixture
def lin(make_user, path):
    return learner(make_user, path, "lin")


def card_of(user, kind: str) -> ReviewCard:
    return ReviewCard.objects.get(user=user, card__kind=kind)


def test_the_list_has_every_card_with_state_next_review_and_recall(lin, path):
    review_card_rate(user=lin.user, review_card_id=card_of(lin.user, "recall").pk, rating=4, now=NOW)
    body = lin.get("/api/cards/").json()
    assert body["count"] == 3 and body["next"] is None and body["previous"] is None
    states = {card["kind"]: card["state"] for card in body["results"]}
    assert states == {"recall": "review", "choice": "new", "numeric": "new"}
    recall = next(card for card in body["results"] if card["kind"] == "recall")
    assert recall["retrievability"] == pytest.approx(1.0, abs=0.01)  # just reviewed
    assert recall["due"] > "2026-06-02" and recall["drop"]["title"] == "Drop 1"
    assert all(card["retrievability"] is None for card in body["results"] if card["state"] == "new")


def test_the_list_filters_by_state_and_drop_and_pages(lin, path):
    assert lin.get("/api/cards/?state=new").json()["count"] == 3
    assert lin.get("/api/cards/?state=review").json()["count"] == 0
    assert lin.get(f"/api/cards/?drop={Drop.objects.get(path=path, position=1).pk}").json()["count"] == 3
    assert lin.get(f"/api/cards/?drop={Drop.objects.get(path=path, position=2).pk}").json()["count"] == 0
    assert lin.get("/api/cards/?state=forgotten").status_code == 400
    assert lin.get("/api/cards/?page=9").status_code == 404


def test_suspend_and_resume_are_idempotent_and_leave_every_count(lin):
    choice = card_of(lin.user, "choice")
    session = lin.get("/api/reviews/session/").json()
    assert session["remaining"] == 3 and session["counts"] == {"new": 3, "learning": 0, "review": 0}
    for _ in range(2):
        response = lin.post(f"/api/cards/{choice.pk}/suspend/")
        assert response.status_code == 200 and response.json()["state"] == "suspended"
    first_suspended_at = response.json()["suspended_at"]
    session = lin.get("/api/reviews/session/").json()
    assert session["remaining"] == 2 and session["counts"]["new"] == 2
    assert lin.get("/api/today/").json()["reviews_due"] == 2
    assert choice.pk not in [card["id"] for card in lin.get("/api/reviews/due/").json()["cards"]]
    assert lin.get("/api/progress/").json()["cards_in_deck"] == 2
    assert lin.get("/api/cards/?state=suspended").json()["results"][0]["suspended_at"] == first_suspended_at
    rated = lin.post(f"/api/reviews/{choice.pk}/", {"answer": "B"}, format="json")
    assert rated.status_code == 409  # a suspended card is not in the session
    for _ in range(2):
        response = lin.post(f"/api/cards/{choice.pk}/resume/")
        assert response.status_code == 200 and response.json()["state"] == "new"
    assert lin.get("/api/reviews/session/").json()["remaining"] == 3


def test_a_suspended_card_sends_no_reminder(lin, settings, mailoutbox):
    from drops.reminders import reminders_send
    from learnpath.models import LearnerProfile

    LearnerProfile.objects.filter(user=lin.user).update(email_reminders=True, reminder_hour=11)
    lin.user.email = "lin@example.com"
    lin.user.save()
    for card in ReviewCard.objects.filter(user=lin.user):
        lin.post(f"/api/cards/{card.pk}/suspend/")
    assert reminders_send(now=NOW) == 0  # 11:00 in Berlin, the drop done, every card suspended
    lin.post(f"/api/cards/{card_of(lin.user, 'recall').pk}/resume/")
    assert reminders_send(now=NOW) == 1


def test_cards_of_others_are_404_and_not_listed(lin, make_user, path):
    other = learner(make_user, path, "ola")
    theirs = card_of(other.user, "recall")
    assert lin.post(f"/api/cards/{theirs.pk}/suspend/").status_code == 404
    assert lin.post(f"/api/cards/{theirs.pk}/resume/").status_code == 404
    assert lin.post("/api/cards/999999/suspend/").status_code == 404
    assert {card["id"] for card in lin.get("/api/cards/").json()["results"]}.isdisjoint(
        ReviewCard.objects.filter(user=other.user).values_list("pk", flat=True)
    )
    assert ReviewCard.objects.get(pk=theirs.pk).suspended_at is None


def test_counts_move_with_each_rating(lin):
    recall = card_of(lin.user, "recall")
    counts = lambda: lin.get("/api/reviews/session/").json()["counts"]  # noqa: E731
    assert counts() == {"new": 3, "learning": 0, "review": 0}
    review_card_rate(user=lin.user, review_card_id=recall.pk, rating=3, now=NOW)  # comes back in 10 minutes
    assert counts() == {"new": 2, "learning": 1, "review": 0}
    review_card_rate(user=lin.user, review_card_id=recall.pk, rating=4, now=NOW)  # graduates: days away
    assert counts() == {"new": 2, "learning": 0, "review": 0}
    body = lin.get("/api/reviews/due/").json()
    assert body["counts"] == {"new": 2, "learning": 0, "review": 0}


@pytest.mark.parametrize("reviews", [0, 1, 3])
def test_intervals_are_present_and_ordered(lin, reviews):
    recall = card_of(lin.user, "recall")
    moment = NOW
    for _ in range(reviews):
        review_card_rate(user=lin.user, review_card_id=recall.pk, rating=3, now=moment)
        moment = ReviewCard.objects.get(pk=recall.pk).due
    with time_machine.travel(moment, tick=False):
        cards = lin.get("/api/reviews/due/").json()["cards"]
    shown = next(card for card in cards if card["id"] == recall.pk)
    got = shown["intervals"]
    assert list(got) == ["again", "hard", "good", "easy"]
    assert 0 < got["again"] < got["hard"] < got["good"] < got["easy"]
    if reviews == 0:
        assert (got["again"], got["good"]) == (60, 600)  # py-fsrs's learning steps: 1 and 10 minutes
    # The preview wrote nothing.
    assert ReviewLog.objects.filter(review_card=recall).count() == reviews


def good_interval(client, card_id: int) -> int:
    cards = client.get("/api/reviews/due/").json()["cards"]
    return next(card for card in cards if card["id"] == card_id)["intervals"]["good"]


def test_intervals_follow_the_learners_retention(lin):
    recall = card_of(lin.user, "recall")
    review_card_rate(user=lin.user, review_card_id=recall.pk, rating=4, now=NOW)
    due = ReviewCard.objects.get(pk=recall.pk).due
    with time_machine.travel(due, tick=False):
        before = good_interval(lin, recall.pk)
        from learnpath.services import profile_update

        profile_update(user=lin.user, desired_retention=0.97)
        after = good_interval(lin, recall.pk)
    assert after < before  # a higher retention brings the card back sooner


@pytest.mark.parametrize(
    ("seconds", "short", "long"),
    [
        (60, "1m", "1 minute"),
        (600, "10m", "10 minutes"),
        (3600, "1h", "1 hour"),
        (86400, "1d", "1 day"),
        (3 * 86400, "3d", "3 days"),
        (61 * 86400, "2mo", "2 months"),
        (548 * 86400, "1.5y", "1.5 years"),
    ],
)
def test_interval_formats(seconds, short, long):
    from drops.intervals import interval_long, interval_short

    assert (interval_short(seconds), interval_long(seconds)) == (short, long)


# ---------- the pages ----------


@pytest.fixture
def page_client(client, lin):
    client.force_login(lin.user)
    return client


def test_the_cards_page_lists_filters_and_suspends(page_client, lin, path):
    choice = card_of(lin.user, "choice")
    page = page_client.get("/cards/").content.decode()
    assert page.count('data-testid="deck-card"') == 3 and "Pick B" in page
    assert "Review this drop's cards now" not in page  # offered once a drop is chosen
    drop = Drop.objects.get(path=path, position=1)
    assert "Review this drop's cards now" in page_client.get(f"/cards/?drop={drop.pk}").content.decode()
    response = page_client.post(f"/cards/{choice.pk}/suspend/", {"query": "state=new"})
    assert response.status_code == 302 and response["Location"] == "/cards/?state=new"
    assert ReviewCard.objects.get(pk=choice.pk).suspended_at is not None
    suspended = page_client.get("/cards/?state=suspended").content.decode()
    assert suspended.count('data-testid="deck-card"') == 1 and "Resume" in suspended
    assert page_client.get("/cards/?state=new").content.decode().count('data-testid="deck-card"') == 2
    page_client.post(f"/cards/{choice.pk}/resume/")
    assert ReviewCard.objects.get(pk=choice.pk).suspended_at is None


def test_the_cards_page_refuses_others_cards(page_client, make_user, path):
    other = learner(make_user, path, "ola")
    assert page_client.post(f"/cards/{card_of(other.user, 'recall').pk}/suspend/").status_code == 404


def test_practice_goes_through_a_drops_cards_and_writes_nothing(page_client, lin, path):
    drop = Drop.objects.get(path=path, position=1)
    before = list(ReviewCard.objects.filter(user=lin.user).values_list("pk", "state", "step", "due", "last_review"))
    page = page_client.get(f"/cards/practice/{drop.pk}/").content.decode()
    assert "What is 1?" in page and "<strong>3</strong> to go" in page
    recall, choice, numeric = (card_of(lin.user, kind).pk for kind in ("recall", "choice", "numeric"))
    # Again puts the card at the end of the queue; a checked answer is shown, not recorded.
    page = page_client.get(f"/cards/practice/{drop.pk}/", {"queue": f"{choice},{numeric},{recall}"}).content.decode()
    assert "Pick B" in page
    page = page_client.get(f"/cards/practice/{drop.pk}/", {"queue": f"{choice},{numeric}", "answer": "A"})
    assert "Not quite." in page.content.decode()
    assert page.context["again_queue"] == f"{numeric},{choice}"
    done = page_client.get(f"/cards/practice/{drop.pk}/", {"queue": ""}).content.decode()
    assert 'data-testid="practice-done"' in done and "Nothing was recorded" in done
    after = list(ReviewCard.objects.filter(user=lin.user).values_list("pk", "state", "step", "due", "last_review"))
    assert after == before
    assert ReviewLog.objects.filter(user=lin.user).count() == 0
    assert lin.get("/api/today/").json()["streak"]["today_counts"] is True  # from the drop, not from practice
    assert lin.get("/api/reviews/session/").json()["remaining"] == 3


def test_the_review_page_shows_counts_and_intervals(page_client, lin):
    page = page_client.get("/review/").content.decode()
    assert 'data-testid="count-new"><strong>3</strong> new' in page
    assert '<span>Good</span><span class="visually-hidden"> (back in 10 minutes)</span>' in page
    assert '<span>Again</span><span class="visually-hidden"> (back in 1 minute)</span>' in page
