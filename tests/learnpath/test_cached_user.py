"""The signed-in user comes from the cache, and every change to the user or the profile is seen at once."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from learnpath.models import LearnerProfile as Profile

PASSWORD = "correct-horse-battery-9"


@pytest.fixture
def signed_in(learner, enrolled):
    client = Client()
    assert client.login(username=learner.username, password=PASSWORD)
    client.get("/api/me/")  # the first request loads the user and fills the cache
    return client


def user_queries(client, path: str) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return [q["sql"] for q in queries if 'FROM "auth_user"' in q["sql"]]


def test_a_signed_in_request_loads_no_user_row(signed_in):
    assert user_queries(signed_in, "/api/me/") == []


def test_a_password_change_signs_other_sessions_out_at_once(signed_in, learner):
    learner.set_password("a-new-long-passphrase-7")
    learner.save()
    assert signed_in.get("/api/me/").status_code in (401, 403)


def test_deactivating_a_learner_signs_them_out_at_once(signed_in, learner):
    learner.is_active = False
    learner.save()
    assert signed_in.get("/api/me/").status_code in (401, 403)


def test_a_profile_change_is_seen_on_the_next_request(signed_in, learner):
    profile = Profile.objects.get(user=learner)
    profile.timezone = "Asia/Tokyo"
    profile.save()
    assert signed_in.get("/api/me/").json()["timezone"] == "Asia/Tokyo"
    assert user_queries(signed_in, "/api/me/") == []  # cached again after one load
