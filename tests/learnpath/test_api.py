"""The foundation's API: register, token, profile, paths, enrol — happy paths, bad input, auth failures."""

from __future__ import annotations

import pytest
from django.test import override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from drops.models import DropProgress
from learnpath.content.loader import load_content
from learnpath.models import Enrollment
from tests.learnpath.test_loadcontent import write_tree

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-enough-passphrase-7"


@pytest.fixture
def tiny(tmp_path):
    load_content(write_tree(tmp_path))
    from learnpath.models import Path

    return Path.objects.get(slug="tiny")


def test_register_returns_token_and_profile(anon_api):
    response = anon_api.post(
        "/api/auth/register/",
        {"username": "lin", "password": PASSWORD, "email": "lin@example.com", "timezone": "Asia/Tokyo"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["username"] == "lin" and body["timezone"] == "Asia/Tokyo"
    assert Token.objects.get(user__username="lin").key == body["token"]
    me = APIClient()
    me.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    assert me.get("/api/me/").json()["timezone"] == "Asia/Tokyo"


@pytest.mark.parametrize(
    ("payload", "field", "text"),
    [
        ({"username": "lin", "password": "123"}, "password", "too short"),
        ({"username": "lin", "password": PASSWORD, "timezone": "Mars/Olympus"}, "timezone", "IANA timezone"),
        ({"username": "bad name!", "password": PASSWORD}, "username", "letters, digits"),
        ({"password": PASSWORD}, "username", "required"),
        ({"username": "lin", "password": PASSWORD, "email": "not-an-email"}, "email", "valid email"),
    ],
)
def test_register_rejects_bad_input_with_field_errors(anon_api, payload, field, text):
    response = anon_api.post("/api/auth/register/", payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert field in body["errors"]
    assert text.lower() in " ".join(body["errors"][field]).lower()
    assert body["detail"].startswith("Invalid input.")


def test_register_rejects_taken_username_case_insensitively(anon_api, make_user):
    make_user("Lin")
    response = anon_api.post("/api/auth/register/", {"username": "lin", "password": PASSWORD}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["username"] == ["That username is taken."]


@pytest.mark.parametrize("body", ["[1, 2]", "not json", '"string"'])
def test_malformed_bodies_are_400_not_500(anon_api, body):
    response = anon_api.generic("POST", "/api/auth/register/", body, content_type="application/json")
    assert response.status_code == 400
    assert "detail" in response.json()


def test_token_for_valid_credentials(anon_api, make_user):
    make_user("lin", password=PASSWORD)
    response = anon_api.post("/api/auth/token/", {"username": "lin", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    assert response.json()["token"] == Token.objects.get(user__username="lin").key


def test_token_rejects_wrong_password(anon_api, make_user):
    make_user("lin", password=PASSWORD)
    response = anon_api.post("/api/auth/token/", {"username": "lin", "password": "wrong"}, format="json")
    assert response.status_code == 400
    assert "Unable to log in" in response.json()["detail"]


@override_settings(LOGIN_FAILURE_LIMIT=3)
def test_token_is_throttled_after_repeated_failures(anon_api, make_user):
    make_user("lin", password=PASSWORD)
    for _ in range(3):
        assert anon_api.post("/api/auth/token/", {"username": "lin", "password": "x"}, format="json").status_code == 400
    blocked = anon_api.post("/api/auth/token/", {"username": "lin", "password": PASSWORD}, format="json")
    assert blocked.status_code == 429
    assert "Too many failed logins" in blocked.json()["detail"]


@pytest.mark.parametrize(
    ("method", "url"),
    [("get", "/api/me/"), ("patch", "/api/me/"), ("post", "/api/paths/tiny/enroll/")],
)
def test_auth_required(anon_api, tiny, method, url):
    response = getattr(anon_api, method)(url, {}, format="json")
    assert response.status_code == 401
    assert response.json()["detail"]


def test_bad_token_is_401(tiny):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get("/api/me/").status_code == 401


def test_profile_update_validates(api):
    assert api.patch("/api/me/", {"reminder_hour": 25}, format="json").status_code == 400
    assert api.patch("/api/me/", {"timezone": "Nowhere/Land"}, format="json").status_code == 400
    ok = api.patch("/api/me/", {"reminder_hour": 7, "timezone": "America/New_York"}, format="json")
    assert ok.status_code == 200
    assert (ok.json()["reminder_hour"], ok.json()["timezone"]) == (7, "America/New_York")


def test_path_list_and_detail_for_anonymous(anon_api, tiny):
    listing = anon_api.get("/api/paths/").json()
    assert listing == [
        {
            "slug": "tiny",
            "title": "A tiny path",
            "summary": "Two phases, three drops.",
            "phase_count": 2,
            "drop_count": 3,
            "enrolled": False,
        }
    ]
    detail = anon_api.get("/api/paths/tiny/").json()
    assert [p["title"] for p in detail["phases"]] == ["The first phase", "The second phase"]
    assert [d["slug"] for p in detail["phases"] for d in p["drops"]] == ["alpha", "beta", "gamma"]
    assert all(d["state"] is None for p in detail["phases"] for d in p["drops"])
    assert detail["faq"][0]["question"] == "Why?"


def test_unknown_path_is_404(anon_api):
    response = anon_api.get("/api/paths/nope/")
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]


def test_enroll_is_idempotent_and_unlocks_drop_one(api, learner, tiny):
    first = api.post("/api/paths/tiny/enroll/")
    assert first.status_code == 201 and first.json()["created"] is True
    again = api.post("/api/paths/tiny/enroll/")
    assert again.status_code == 200 and again.json()["created"] is False
    assert Enrollment.objects.filter(user=learner).count() == 1
    assert DropProgress.objects.filter(user=learner).count() == 1
    drops = [d for p in api.get("/api/paths/tiny/").json()["phases"] for d in p["drops"]]
    assert [d["state"] for d in drops] == ["available", "locked", "locked"]
    assert api.get("/api/paths/").json()[0]["enrolled"] is True


def test_enroll_unknown_path_is_404(api):
    assert api.post("/api/paths/nope/enroll/").status_code == 404


def test_states_are_per_learner(api, learner, make_user, tiny):
    api.post("/api/paths/tiny/enroll/")
    other = APIClient()
    other.force_authenticate(make_user("bob"))
    detail = other.get("/api/paths/tiny/").json()
    assert detail["enrolled"] is False
    assert all(d["state"] is None for p in detail["phases"] for d in p["drops"])


def test_real_distillation_path_structure(anon_api, content):
    detail = anon_api.get("/api/paths/model-distillation/").json()
    assert detail["title"] == "Understand Model Distillation"
    assert [p["title"] for p in detail["phases"]] == [
        "Why teacher outputs beat raw labels",
        "One student-teacher step, in detail",
        "Outputs, traces, preferences — three distillations",
        "Distill one of your real prompts",
    ]
    assert sum(len(p["drops"]) for p in detail["phases"]) == 14


def test_openapi_schema_is_valid_and_complete(anon_api):
    from drf_spectacular.validation import validate_schema

    response = anon_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)
    for path in ["/api/auth/register/", "/api/auth/token/", "/api/paths/", "/api/paths/{slug}/enroll/"]:
        assert path in schema["paths"], path
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert operation.get("responses"), f"{method} {path} has no responses"
            if method in ("post", "put", "patch") and "requestBody" in operation:
                assert operation["requestBody"]["content"], f"{method} {path} has no request schema"


def test_docs_page_served(anon_api):
    assert anon_api.get("/api/docs/").status_code == 200


@pytest.mark.parametrize("url", ["/api/drops/-1/", "/api/reviews/abc/", "/api/paths/a b/", "/api/nothing-here/"])
def test_unknown_api_urls_are_json_404(client, learner, url):
    client.force_login(learner)
    for response in (client.get(url), client.post(url, {})):
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}
