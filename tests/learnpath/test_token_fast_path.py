"""A request signed in with an API token costs what a session's does: one round trip to the cache and, warm, no
query; and a token deleted, or a learner deactivated, is refused at once even though the token was cached."""

from __future__ import annotations

import re

import pytest
from django.core.cache import caches
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from learnpath.auth import new_token_key, token_hint, token_key

PASSWORD = "correct-horse-battery-9"
CACHED_ENDPOINTS = ("/api/today/", "/api/progress/", "/api/reviews/due/", "/api/me/")


@pytest.fixture
def token(learner, enrolled):
    response = APIClient().post("/api/auth/token/", {"username": learner.username, "password": PASSWORD})
    assert response.status_code == 200
    return response.json()["token"]


@pytest.fixture
def client(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.fixture
def round_trips(monkeypatch):
    """Every read the default cache answers in this thread, one entry per round trip (as in test_request_cache)."""
    backend = caches["default"]
    calls: list[list[str]] = []
    inside = []

    def counted(method, keys_of):
        def read(*args, **kwargs):
            if not inside:
                calls.append(keys_of(args[0]))
            inside.append(True)
            try:
                return method(*args, **kwargs)
            finally:
                inside.pop()

        return read

    monkeypatch.setattr(backend, "get", counted(backend.get, lambda key: [key]))
    monkeypatch.setattr(backend, "get_many", counted(backend.get_many, list))
    return calls


def test_a_token_names_its_user_and_is_never_a_cache_key(learner, token):
    assert token_hint(token) == learner.pk and len(token) <= 40 and len(token.split(".", 1)[1]) >= 28
    assert token not in token_key(token)


@pytest.mark.parametrize("endpoint", CACHED_ENDPOINTS)
def test_a_warm_token_request_makes_one_round_trip(client, round_trips, endpoint):
    assert client.get(endpoint).status_code == 200  # fills what is cached
    round_trips.clear()
    assert client.get(endpoint).status_code == 200
    assert len(round_trips) == 1, round_trips


def test_a_warm_token_request_makes_no_query(client, django_assert_num_queries):
    assert client.get("/api/today/").status_code == 200
    with django_assert_num_queries(0):
        assert client.get("/api/today/").status_code == 200


def test_a_token_without_the_hint_still_signs_in_from_the_cache(learner, enrolled, django_assert_num_queries):
    old = Token.objects.create(user=learner, key="0123456789abcdef0123456789abcdef01234567")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {old.key}")
    assert client.get("/api/today/").status_code == 200
    with django_assert_num_queries(0):
        assert client.get("/api/today/").json() == client.get("/api/today/").json()


def test_a_hint_naming_someone_else_signs_in_the_tokens_owner(learner, enrolled, make_user):
    other = make_user("someone-else")
    forged = new_token_key(other.pk)
    Token.objects.create(user=learner, key=forged)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {forged}")
    for _ in range(2):  # cold, then warm
        assert client.get("/api/me/").json()["username"] == learner.username


def test_a_deleted_token_is_refused_at_once(client, token):
    assert client.get("/api/today/").status_code == 200
    assert caches["default"].get(token_key(token)) is not None
    Token.objects.filter(key=token).delete()
    assert caches["default"].get(token_key(token)) is None
    assert client.get("/api/today/").status_code == 401


def test_a_regenerated_token_replaces_the_old_one(client, learner, token):
    assert client.get("/api/me/").status_code == 200
    Token.objects.get(key=token).delete()
    fresh = Token.objects.create(user=learner, key=new_token_key(learner.pk))
    assert client.get("/api/me/").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Token {fresh.key}")
    assert client.get("/api/me/").json()["username"] == learner.username


def test_an_inactive_learners_token_is_refused(client, learner):
    assert client.get("/api/today/").status_code == 200  # cached while active
    learner.is_active = False
    learner.save()
    assert client.get("/api/today/").status_code == 401
    assert client.get("/api/today/").status_code == 401  # and again once cached inactive


def test_an_unknown_token_is_a_401_with_the_challenge(enrolled):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {new_token_key(1)}")
    response = client.get("/api/today/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    response = APIClient().get("/api/today/")
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("endpoint", CACHED_ENDPOINTS)
def test_a_token_client_gets_its_learners_timezone_like_a_session(learner, client, endpoint):
    """The timezone middleware runs before DRF authenticates a token; the token's authentication sets the zone, so
    a token client's dates are in the learner's own zone (and its cached answers are the session's)."""
    from django.test import Client

    learner.profile.timezone = "Australia/Sydney"
    learner.profile.save()
    session = Client()
    session.force_login(learner)
    # The first drop read: Today then says when the next one unlocks, a time in the learner's zone.
    first = session.get("/api/today/").json()["new_drop"]["id"]
    assert (
        session.post(
            f"/api/drops/{first}/complete/", {"seconds_spent": 300}, content_type="application/json"
        ).status_code
        == 201
    )
    by_session = session.get(endpoint)
    assert by_session.status_code == 200
    for _ in range(2):  # cold, then from the cache
        by_token = client.get(endpoint)
        assert by_token.status_code == 200
        assert by_token.json() == by_session.json()
    if endpoint == "/api/today/":  # its times are the learner's: Sydney is ten or eleven hours ahead of UTC
        assert re.search(r'T\d\d:\d\d:\d\d(\.\d+)?\+1[01]:00"', by_session.content.decode()), by_session.content
