"""A signed-in request reads its session, its user and its view's cached summary in one round trip to the cache,
and the session key that makes this possible never decides who is signed in."""

from __future__ import annotations

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import User
from django.contrib.sessions.backends.cached_db import SessionStore as DjangoSessionStore
from django.core.cache import caches
from django.test import Client

from learnpath import cache as learner_cache
from learnpath.sessions import SessionStore
from tests.conftest import DISTILLATION

PASSWORD = "correct-horse-battery-9"
CACHED_ENDPOINTS = (
    "/api/today/",
    "/api/progress/",
    "/api/reviews/due/",
    "/api/health/",
    "/api/me/",
    f"/paths/{DISTILLATION}/",
)


@pytest.fixture
def signed_in(learner, enrolled):
    client = Client()
    assert client.login(username=learner.username, password=PASSWORD)
    return client


@pytest.fixture
def round_trips(monkeypatch):
    """Every read the default cache answers in this thread: one entry per round trip, with its keys (a backend
    that answers ``get_many`` with several ``get`` calls of its own still counts once)."""
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


def _session_data(user: User) -> dict:
    return {
        SESSION_KEY: str(user.pk),
        BACKEND_SESSION_KEY: "learnpath.auth.ProfileModelBackend",
        HASH_SESSION_KEY: user.get_session_auth_hash(),
    }


@pytest.mark.parametrize("endpoint", CACHED_ENDPOINTS)
def test_a_warm_signed_in_request_makes_one_round_trip(signed_in, round_trips, endpoint):
    assert signed_in.get(endpoint).status_code == 200  # fills what is cached
    round_trips.clear()
    assert signed_in.get(endpoint).status_code == 200
    assert len(round_trips) == 1, round_trips


def test_signing_in_gives_a_new_key_that_names_the_user_and_keeps_the_session(learner, enrolled):
    client = Client()
    before = client.session
    before["theme"] = "dark"
    before.save()
    old_key = before.session_key
    response = client.post("/accounts/login/", {"username": learner.username, "password": PASSWORD})
    assert response.status_code == 302
    new_key = client.cookies["sessionid"].value
    assert new_key != old_key and new_key.startswith(f"u{learner.pk}.")
    assert len(new_key) <= 40 and len(new_key.split(".", 1)[1]) >= 28
    assert not SessionStore().exists(old_key)  # a fixed session key stops working at sign-in
    assert client.session["theme"] == "dark"
    assert client.get("/api/me/").json()["username"] == learner.username


def test_the_session_not_the_key_decides_who_is_signed_in(learner, enrolled):
    other = User.objects.create_user("someone-else", password="another-long-passphrase-3")
    # A session of `learner` stored under a key that names `other`: the request is the learner's.
    store = SessionStore(session_key=f"u{other.pk}.{'q' * 30}")
    store.update(_session_data(learner))
    store.save(must_create=True)
    client = Client()
    client.cookies["sessionid"] = store.session_key
    assert client.get("/api/me/").json()["username"] == learner.username
    assert client.get("/api/me/").json()["username"] == learner.username  # warm: from the batch, the same answer


def test_a_key_naming_a_user_signs_nobody_in_unless_it_is_a_real_session(signed_in, learner):
    real = signed_in.cookies["sessionid"].value
    forged = Client()
    forged.cookies["sessionid"] = real[:-4] + ("aaaa" if not real.endswith("aaaa") else "bbbb")
    assert forged.get("/api/me/").status_code in (401, 403)
    forged.cookies["sessionid"] = f"u{learner.pk}.{'z' * 30}"
    assert forged.get("/api/me/").status_code in (401, 403)


def test_a_session_made_before_keys_named_users_still_signs_in(learner, enrolled):
    store = DjangoSessionStore()
    store.update(_session_data(learner))
    store.save()
    assert not store.session_key.startswith("u")
    client = Client()
    client.cookies["sessionid"] = store.session_key
    assert client.get("/api/me/").json()["username"] == learner.username
    assert client.get("/api/today/").status_code == 200


def test_signing_out_ends_the_session_for_every_copy_of_the_cookie(signed_in):
    copy = Client()
    copy.cookies["sessionid"] = signed_in.cookies["sessionid"].value
    assert copy.get("/api/me/").status_code == 200
    signed_in.post("/accounts/logout/")
    assert copy.get("/api/me/").status_code in (401, 403)


def test_a_timezone_change_is_seen_by_the_cached_summaries_at_once(signed_in):
    assert signed_in.get("/api/today/").json()["timezone"] == "UTC"
    response = signed_in.patch("/api/me/", {"timezone": "Asia/Tokyo"}, content_type="application/json")
    assert response.status_code == 200
    assert signed_in.get("/api/today/").json()["timezone"] == "Asia/Tokyo"


def test_a_read_after_a_write_in_one_batch_goes_back_to_the_cache(round_trips):
    default = caches["default"]
    default.set("lp-test:a", 1)
    with learner_cache.batch():
        learner_cache.plan(["lp-test:a", "lp-test:b"])
        assert learner_cache.read("lp-test:a") == 1
        assert learner_cache.read("lp-test:b") is None
        assert len(round_trips) == 1  # the plan came with the first read; the absent key is remembered too
        default.set("lp-test:a", 2)
        learner_cache.wrote("lp-test:a")
        assert learner_cache.read("lp-test:a") == 2
        assert len(round_trips) == 2
    assert learner_cache.read("lp-test:a") == 2  # outside a batch every read goes to the cache
    assert len(round_trips) == 3
