"""The foundation's API: register, token, profile, paths, enrol — happy paths, bad input, auth failures."""

from __future__ import annotations

import pytest
from django.test import override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from drops.models import DropProgress
from learnpath.api.schema import NOT_BLANK_PATTERN
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
        ({"username": "bad name!", "password": PASSWORD}, "username", "letters (of any alphabet), digits"),
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


# The contract the schema states (tests/api/test_fuzz.py found each of these apart from it).


def _schema(client) -> dict:
    return client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


@pytest.mark.parametrize(
    ("body", "encoding"),
    [({}, "json"), ({}, "multipart"), ({"nickname": "lin"}, "json"), ({"reminder_hr": "7"}, "multipart")],
)
def test_profile_patch_that_changes_nothing_is_a_400(api, body, encoding):
    before = api.get("/api/me/").json()
    response = api.patch("/api/me/", body, format=encoding)
    assert response.status_code == 400, response.content
    assert response.json()["errors"] == {
        "non_field_errors": [
            "Nothing to change: send at least one of timezone, reminder_hour, email_reminders, daily_goal_minutes, "
            "daily_review_cap, desired_retention, read_ahead_per_day."
        ]
    }
    assert api.get("/api/me/").json() == before


def test_profile_patch_needs_a_body_and_one_field_in_the_schema(api):
    schema = _schema(api)
    assert schema["paths"]["/api/me/"]["patch"]["requestBody"]["required"] is True
    fields = ["timezone", "reminder_hour", "email_reminders", "daily_goal_minutes", "daily_review_cap"]
    anyof = schema["components"]["schemas"]["PatchedProfileRequest"]["anyOf"]
    assert anyof == [{"required": [name]} for name in [*fields, "desired_retention", "read_ahead_per_day"]]


@pytest.mark.parametrize(
    "body",
    [{"email_reminders": 1}, {"email_reminders": "false"}, {"reminder_hour": "7"}, {"timezone": 0}, {"timezone": ""}],
)
def test_profile_json_values_must_have_the_schemas_types(api, body):
    response = api.patch("/api/me/", body, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == list(body)


def test_profile_form_values_are_read_as_the_schema_spells_them(api):
    from urllib.parse import urlencode

    def form(fields):
        return api.patch("/api/me/", urlencode(fields), content_type="application/x-www-form-urlencoded")

    assert form({"timezone": ""}).status_code == 400  # was quietly ignored: a 200 that changed nothing
    assert form({"email_reminders": "0"}).status_code == 400
    ok = form({"reminder_hour": "7", "desired_retention": "null", "email_reminders": "false"})
    assert ok.status_code == 200, ok.content
    assert (ok.json()["reminder_hour"], ok.json()["desired_retention"]) == (7, None)


def test_timezones_are_the_schemas_enum(api, anon_api):
    from learnpath.models import available_timezones

    schema = _schema(anon_api)
    assert schema["components"]["schemas"]["Timezone"]["enum"] == sorted(available_timezones())
    for component in ("RegisterInputRequest", "PatchedProfileRequest"):
        timezone = schema["components"]["schemas"][component]["properties"]["timezone"]
        assert timezone["allOf"] == [{"$ref": "#/components/schemas/Timezone"}]
    refused = anon_api.post("/api/auth/register/", {"username": "lin", "password": PASSWORD, "timezone": " UTC"})
    assert refused.json()["errors"] == {"timezone": ["' UTC' is not an IANA timezone name such as 'Europe/Berlin'."]}


def test_register_takes_any_username_the_pattern_allows_once(anon_api, make_user):
    assert (
        anon_api.post("/api/auth/register/", {"username": "ab", "password": PASSWORD}, format="json").status_code == 201
    )
    # Taken in another letter case: a rule about other accounts, which the operation's description states.
    taken = anon_api.post("/api/auth/register/", {"username": "AB", "password": PASSWORD}, format="json")
    assert taken.status_code == 400
    assert taken.json()["errors"] == {"username": ["That username is taken."]}
    assert "already in use" in _schema(anon_api)["paths"]["/api/auth/register/"]["post"]["description"]


def test_passwords_are_kept_as_typed_and_their_minimum_is_the_validators(anon_api, settings):
    spaced = f"  {PASSWORD}  "
    assert (
        anon_api.post("/api/auth/register/", {"username": "lin", "password": spaced}, format="json").status_code == 201
    )
    assert anon_api.post("/api/auth/token/", {"username": "lin", "password": spaced}, format="json").status_code == 200
    assert (
        anon_api.post("/api/auth/token/", {"username": "lin", "password": PASSWORD}, format="json").status_code == 400
    )
    schema = _schema(anon_api)["components"]["schemas"]
    assert schema["RegisterInputRequest"]["properties"]["password"]["minLength"] == 8
    settings.AUTH_PASSWORD_VALIDATORS = [
        {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}}
    ]
    password = _schema(anon_api)["components"]["schemas"]["RegisterInputRequest"]["properties"]["password"]
    assert password["minLength"] == 12
    assert schema["TokenInputRequest"]["properties"]["username"]["pattern"] == NOT_BLANK_PATTERN
