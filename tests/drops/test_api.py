"""The daily-loop API through HTTP: shapes, errors, idempotency, privacy and bounded query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from drops.models import Drop, DropProgress, RecallCard, ReviewCard, ReviewLog
from drops.services import drop_complete, review_card_rate
from learnpath.api.schema import NOT_BLANK_PATTERN
from tests.conftest import api_client_for
from tests.drops.conftest import build_path, enrol, utc

NOW = utc(2026, 6, 1, 9)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def path(db):
    return build_path(drops=4)


@pytest.fixture
def learner_api(make_user, path):
    user = make_user("lin", timezone="Europe/Berlin")
    enrol(user, path, NOW - timedelta(hours=1))
    client = api_client_for(user)
    client.user = user
    return client


def first_drop(path, position=1):
    return Drop.objects.get(path=path, position=position)


def test_today_before_and_after_completing(learner_api, path):
    body = learner_api.get("/api/today/").json()
    assert body["new_drop"]["id"] == first_drop(path).pk
    assert (body["reviews_due"], body["streak"]["current"], body["goal_minutes"]) == (0, 0, 5)
    response = learner_api.post(f"/api/drops/{first_drop(path).pk}/complete/", {"seconds_spent": 400}, format="json")
    assert response.status_code == 201
    assert response.json()["next_unlocks_at"] == "2026-06-01T22:00:00Z"
    body = learner_api.get("/api/today/").json()
    assert body["new_drop"] is None
    assert body["next_unlock_at"] == "2026-06-01T22:00:00Z"
    assert (body["reviews_due"], body["minutes"], body["streak"]["current"]) == (3, 6, 1)
    recall = next(c for c in body["first_reviews"] if c["kind"] == "recall")
    choice = next(c for c in body["first_reviews"] if c["kind"] == "choice")
    assert recall["answer"] == "An answer"
    assert choice["answer"] is None and choice["choices"] == ["A", "B", "C"]  # checked cards keep their answer


def test_completing_twice_counts_once(learner_api, path):
    url = f"/api/drops/{first_drop(path).pk}/complete/"
    assert learner_api.post(url, {"seconds_spent": 100}, format="json").status_code == 201
    second = learner_api.post(url, {"seconds_spent": 100}, format="json")
    assert second.status_code == 200 and second.json()["newly_completed"] is False
    assert ReviewCard.objects.filter(user=learner_api.user).count() == 3
    assert learner_api.get("/api/progress/").json()["activity"][-1]["drops_completed"] == 1


def test_locked_drop_is_403_with_unlocks_at(learner_api, path):
    drop2 = first_drop(path, 2)
    learner_api.patch("/api/me/", {"read_ahead_per_day": 0}, format="json")  # see tests/drops/test_read_ahead.py
    response = learner_api.get(f"/api/drops/{drop2.pk}/")
    assert response.status_code == 403 and response.json()["unlocks_at"] is None
    learner_api.post(f"/api/drops/{first_drop(path).pk}/complete/", {"seconds_spent": 100}, format="json")
    response = learner_api.get(f"/api/drops/{drop2.pk}/")
    assert response.status_code == 403
    assert response.json()["unlocks_at"] == "2026-06-01T22:00:00Z"
    complete = learner_api.post(f"/api/drops/{drop2.pk}/complete/", {"seconds_spent": 1}, format="json")
    assert complete.status_code == 403


def test_drop_detail_has_sanitized_body_sections_and_neighbours(learner_api, path):
    body = learner_api.get(f"/api/drops/{first_drop(path).pk}/").json()
    assert body["sections"] == [{"id": "s1", "title": "Section 1"}]
    assert body["state"] == "available"
    assert body["previous_id"] is None and body["next_id"] == first_drop(path, 2).pk


@pytest.mark.parametrize(
    "payload", [{}, {"seconds_spent": -1}, {"seconds_spent": "x"}, {"seconds_spent": 10**12}, ["not", "an object"]]
)
def test_bad_completion_input_is_400_with_field_errors(learner_api, path, payload):
    response = learner_api.post(f"/api/drops/{first_drop(path).pk}/complete/", payload, format="json")
    assert response.status_code == 400
    assert "errors" in response.json()


def test_unknown_ids_are_404(learner_api):
    assert learner_api.get("/api/drops/999999/").status_code == 404
    assert learner_api.get(f"/api/drops/{2**70}/").status_code == 404
    assert learner_api.post(f"/api/reviews/{2**70}/", {"rating": 3}, format="json").status_code == 404


@pytest.mark.usefixtures("fsrs_no_fuzz")
def test_review_flow_through_the_api(learner_api, path):
    learner_api.post(f"/api/drops/{first_drop(path).pk}/complete/", {"seconds_spent": 100}, format="json")
    due = learner_api.get("/api/reviews/due/?limit=5").json()
    assert due["remaining"] == 3 and due["daily_cap"] == 50
    ids = {c["kind"]: c["id"] for c in due["cards"]}
    check = learner_api.post(f"/api/reviews/{ids['choice']}/check/", {"answer": "B"}, format="json").json()
    assert check == {"correct": True, "suggested_rating": 3, "answer": "B", "explanation": "B is right."}
    assert not ReviewLog.objects.exists()
    rated = learner_api.post(f"/api/reviews/{ids['choice']}/", {"answer": "B", "rating": 4, "duration_ms": 9000})
    assert rated.status_code == 200
    assert (rated.json()["rating"], rated.json()["correct"], rated.json()["state"]) == (4, True, "review")
    missing = learner_api.post(f"/api/reviews/{ids['numeric']}/", {"rating": 3}, format="json")
    assert missing.status_code == 400 and "answer" in missing.json()["errors"]
    again = learner_api.post(f"/api/reviews/{ids['choice']}/", {"answer": "B"}, format="json")
    assert again.status_code == 409 and "due" in again.json()
    assert learner_api.post(f"/api/reviews/{ids['recall']}/", {}, format="json").status_code == 400
    assert learner_api.post(f"/api/reviews/{ids['recall']}/", {"rating": 5}, format="json").status_code == 400
    assert learner_api.get("/api/reviews/due/?limit=0").status_code == 400


def test_anonymous_requests_are_refused(anon_api, path):
    for url in ("/api/today/", "/api/progress/", "/api/reviews/due/", f"/api/drops/{first_drop(path).pk}/"):
        assert anon_api.get(url).status_code in (401, 403)


def test_no_learner_reads_or_changes_another_learners_progress_or_reviews(learner_api, path, make_user):
    owner = learner_api.user
    drop_complete(user=owner, drop=first_drop(path), seconds_spent=100, now=NOW)
    card = ReviewCard.objects.filter(user=owner, card__kind="recall").get()
    intruder = make_user("mallory", timezone="UTC")
    client = api_client_for(intruder)
    # Not enrolled: nothing is readable through the drop API, nothing in their today/progress/due lists.
    assert client.get(f"/api/drops/{first_drop(path).pk}/").status_code == 403
    assert client.post(f"/api/drops/{first_drop(path).pk}/complete/", {"seconds_spent": 5}).status_code == 403
    assert client.post(f"/api/reviews/{card.pk}/", {"rating": 1}, format="json").status_code == 404
    assert client.post(f"/api/reviews/{card.pk}/check/", {"answer": "x"}, format="json").status_code == 404
    assert client.get("/api/reviews/due/").json()["cards"] == []
    assert client.get("/api/today/").json()["reviews_due"] == 0
    progress = client.get("/api/progress/").json()
    assert progress["reviews_done"] == 0 and progress["drops_done"] == 0
    # The owner's state is untouched.
    assert not ReviewLog.objects.filter(review_card=card).exists()
    assert DropProgress.objects.filter(user=intruder).count() == 0


def build_history(user, path, days: int, cards_per_drop: int):
    """A long history: many drops completed, a big deck, many reviews."""
    for position in range(1, path.drops.count() + 1):
        drop = first_drop(path, position)
        for i in range(cards_per_drop):
            RecallCard.objects.get_or_create(
                drop=drop,
                key=f"extra-{i}",
                defaults={"kind": "recall", "prompt": "?", "answer": "!", "position": 10 + i},
            )
    moment = NOW - timedelta(days=days)
    DropProgress.objects.filter(user=user).update(unlocked_at=moment - timedelta(days=1))
    for position in range(1, path.drops.count() + 1):
        drop_complete(user=user, drop=first_drop(path, position), seconds_spent=60, now=moment)
        moment += timedelta(days=1)
        for card in ReviewCard.objects.filter(user=user, due__lte=moment)[:5]:
            review_card_rate(user=user, review_card_id=card.pk, rating=3, answer=card.card.answer, now=moment)


@pytest.mark.parametrize("url", ["/api/today/", "/api/progress/", "/api/reviews/due/"])
def test_query_counts_do_not_grow_with_the_deck_or_history(learner_api, path, url, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        assert learner_api.get(url).status_code == 200
    big_path = build_path("big", drops=12)
    enrol(learner_api.user, big_path, NOW - timedelta(days=30))
    build_history(learner_api.user, big_path, days=20, cards_per_drop=8)
    assert ReviewCard.objects.filter(user=learner_api.user).count() > 100
    with django_assert_max_num_queries(14):
        assert learner_api.get(url).status_code == 200
    with CaptureQueriesContext(connection) as big:
        learner_api.get(url)
    # The same queries whatever the size; the history adds only the streak's rest-day lookup (3 queries,
    # run when days were skipped) and one more for the deck.
    assert len(big) <= len(small) + 4


@pytest.mark.usefixtures("fsrs_no_fuzz")
def test_check_then_rate_and_the_session_counters_through_the_api(learner_api, path):
    learner_api.post(f"/api/drops/{first_drop(path).pk}/complete/", {"seconds_spent": 100}, format="json")
    session = learner_api.get("/api/reviews/session/").json()
    assert (session["remaining"], session["done"], session["last_session"]["reviews"]) == (3, 0, 0)
    assert session["next_due"] is None  # cards are left today
    ids = {c["kind"]: c["id"] for c in learner_api.get("/api/reviews/due/").json()["cards"]}
    check = learner_api.post(f"/api/reviews/{ids['choice']}/check/", {"answer": "C"}, format="json").json()
    assert (check["correct"], check["suggested_rating"], check["answer"]) == (False, 1, "B")
    # The learner keeps the rating theirs: a wrong answer they call a slip is recorded as Hard, and marked wrong.
    rated = learner_api.post(f"/api/reviews/{ids['choice']}/", {"answer": "C", "rating": 2}, format="json").json()
    assert (rated["rating"], rated["correct"]) == (2, False)
    defaulted = learner_api.post(f"/api/reviews/{ids['numeric']}/", {"answer": "7"}, format="json").json()
    assert (defaulted["rating"], defaulted["correct"]) == (1, False)
    learner_api.post(f"/api/reviews/{ids['recall']}/", {"rating": 4, "duration_ms": 6000}, format="json")
    session = learner_api.get("/api/reviews/session/").json()
    assert session["done"] == 3 and session["remaining"] == 2  # Easy graduated the recall card
    stats = session["last_session"]
    assert (stats["reviews"], stats["cards"], stats["right"], stats["active"]) == (3, 3, 1, True)
    assert stats["accuracy"] == pytest.approx(1 / 3) and stats["seconds"] == 6
    assert session["streak"]["current"] == 1
    other = api_client_for(learner_api.user.__class__.objects.create_user("zed", password="p-4-zed-long-pass"))
    assert other.get("/api/reviews/session/").json()["last_session"]["reviews"] == 0  # only your own reviews


# The contract the schema states (tests/api/test_fuzz.py found each of these apart from it).


def _schema(client) -> dict:
    return client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


def test_the_limit_the_schema_allows_is_the_one_accepted(learner_api):
    limit = next(
        p for p in _schema(learner_api)["paths"]["/api/reviews/due/"]["get"]["parameters"] if p["name"] == "limit"
    )
    assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": 50, "default": 10}
    for value, status in [("1", 200), ("50", 200), ("0", 400), ("51", 400), ("", 400), ("2.0", 400), ("ten", 400)]:
        assert learner_api.get("/api/reviews/due/", {"limit": value}).status_code == status, value


@pytest.mark.usefixtures("fsrs_no_fuzz")
def test_a_rating_must_name_a_rating_or_an_answer_as_the_schema_says(learner_api, path):
    learner_api.post(f"/api/drops/{first_drop(path).pk}/complete/", {"seconds_spent": 100}, format="json")
    recall = next(c["id"] for c in learner_api.get("/api/reviews/due/").json()["cards"] if c["kind"] == "recall")
    schema = _schema(learner_api)
    assert schema["paths"]["/api/reviews/{card_id}/"]["post"]["requestBody"]["required"] is True
    rate = schema["components"]["schemas"]["ReviewRateInputRequest"]
    assert rate["anyOf"] == [{"required": ["rating"]}, {"required": ["answer"]}]
    for body, encoding in [({}, "json"), ({}, "multipart"), ({"duration_ms": 10}, "json")]:
        response = learner_api.post(f"/api/reviews/{recall}/", body, format=encoding)
        assert response.json()["errors"] == {"rating": ["Send a rating (1–4) or the learner's answer."]}
    assert learner_api.post(f"/api/reviews/{recall}/", {"rating": "3"}, format="json").status_code == 400
    assert learner_api.post(f"/api/reviews/{recall}/", {"rating": True}, format="json").status_code == 400
    assert learner_api.post(f"/api/reviews/{recall}/", {"rating": "3"}, format="multipart").status_code == 200


def test_answers_hold_text_that_is_not_only_white_space(learner_api, path):
    learner_api.post(f"/api/drops/{first_drop(path).pk}/complete/", {"seconds_spent": 100}, format="json")
    choice = next(c["id"] for c in learner_api.get("/api/reviews/due/").json()["cards"] if c["kind"] == "choice")
    answer = _schema(learner_api)["components"]["schemas"]["ReviewCheckInputRequest"]["properties"]["answer"]
    assert (answer["pattern"], answer["not"]) == (NOT_BLANK_PATTERN, {"pattern": r"\u0000"})
    for text in ("   ", "\x1e", "B\x00", 2):  # \x1e: white space to Python (which trims it), not to ECMA's \s
        assert learner_api.post(f"/api/reviews/{choice}/check/", {"answer": text}, format="json").status_code == 400
    assert learner_api.post(f"/api/reviews/{choice}/check/", {"answer": " B "}, format="json").json()["correct"]
