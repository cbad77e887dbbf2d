"""/api/plans/: happy paths, validation errors in the shared error shape, and owner-only privacy."""

from __future__ import annotations

import pytest

from learnpath.api.schema import NOT_BLANK_PATTERN
from plans.models import DistillationPlan

from .conftest import COMPLETE_PLAN, as_json

pytestmark = pytest.mark.django_db


def create(api, **fields):
    response = api.post("/api/plans/", fields or {"title": "Ticket router"}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_create_a_draft_with_only_a_title(api, learner):
    body = create(api, title="Ticket router")
    assert body["title"] == "Ticket router"
    assert body["is_complete"] is False
    assert "task" in body["missing_fields"] and "training_cost" in body["missing_fields"]
    assert body["completed_at"] is None
    assert body["calculator"]["status"] == "never"
    assert DistillationPlan.objects.get(pk=body["id"]).owner == learner


def test_create_complete_plan_returns_the_calculator(api):
    body = create(api, **as_json(COMPLETE_PLAN))
    assert body["is_complete"] is True
    assert body["missing_fields"] == []
    assert body["completed_at"] is not None
    assert body["teacher_cost_per_request"] == 0.0105
    calc = body["calculator"]
    assert calc["status"] == "breaks_even"
    assert calc["one_off_cost"] == pytest.approx(573)
    assert calc["monthly_saving"] == pytest.approx(4860)
    assert calc["break_even_requests"] == pytest.approx(70740.74, abs=0.01)
    assert calc["latency_saved_ms"] == 3100
    assert calc["summary"] == "Breaks even after 70,741 requests, about 3.5 days at this volume."


def test_list_shows_only_my_plans_newest_edit_first(api, other_api):
    first = create(api, title="First")
    second = create(api, title="Second")
    create(other_api, title="Not yours")
    api.patch(f"/api/plans/{first['id']}/", {"task": "edited"}, format="json")
    response = api.get("/api/plans/")
    assert response.status_code == 200
    assert [p["title"] for p in response.json()] == ["First", "Second"]
    assert second["id"] in [p["id"] for p in response.json()]


def test_get_patch_delete(api):
    plan = create(api, title="Draft")
    url = f"/api/plans/{plan['id']}/"
    assert api.get(url).json()["title"] == "Draft"

    response = api.patch(url, {"mode": "output", "mode_reason": "  A label per ticket.  "}, format="json")
    assert response.status_code == 200
    assert response.json()["mode"] == "output"
    assert response.json()["mode_reason"] == "A label per ticket."
    assert response.json()["title"] == "Draft"  # untouched fields stay

    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404
    assert not DistillationPlan.objects.filter(pk=plan["id"]).exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "t", "mode": "telepathy"}, "mode"),
        ({"title": "t", "regime": "sometimes"}, "regime"),
        ({"title": "t", "monthly_requests": -1}, "monthly_requests"),
        ({"title": "t", "monthly_requests": 10**13}, "monthly_requests"),
        ({"title": "t", "monthly_requests": "lots"}, "monthly_requests"),
        ({"title": "t", "teacher_cost_per_request": -0.01}, "teacher_cost_per_request"),
        ({"title": "t", "teacher_cost_per_request": "NaN"}, "teacher_cost_per_request"),
        ({"title": "t", "teacher_cost_per_request": -0.000000001}, "teacher_cost_per_request"),  # below 0 as sent
        ({"title": "t", "training_cost": 1e20}, "training_cost"),
        ({"title": "t", "teacher_latency_ms": 10**10}, "teacher_latency_ms"),
        ({"title": "t", "pass_threshold_percent": 250}, "pass_threshold_percent"),
        ({"title": "t", "task": "x" * 5001}, "task"),
        ({"title": "t", "capacity_gap_resolved": "perhaps"}, "capacity_gap_resolved"),
    ],
)
def test_validation_errors_name_the_field(api, payload, field):
    response = api.post("/api/plans/", payload, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert field in body["errors"], body
    assert body["detail"].startswith("Invalid input.")
    assert isinstance(body["errors"][field], list) and body["errors"][field][0]


def test_patch_validation_error_changes_nothing(api):
    plan = create(api, title="Keep me")
    response = api.patch(f"/api/plans/{plan['id']}/", {"title": "", "task": "new"}, format="json")
    assert response.status_code == 400
    assert "title" in response.json()["errors"]
    stored = DistillationPlan.objects.get(pk=plan["id"])
    assert (stored.title, stored.task) == ("Keep me", "")


@pytest.mark.parametrize("body", ["[1, 2]", '"text"', "{not json"])
def test_malformed_bodies_are_400_not_500(api, body):
    response = api.generic("POST", "/api/plans/", body, content_type="application/json")
    assert response.status_code == 400
    assert "detail" in response.json()


def test_plan_limit_is_a_400(api, settings, monkeypatch):
    from plans import services

    monkeypatch.setattr(services, "MAX_PLANS_PER_OWNER", 2)
    create(api, title="a")
    create(api, title="b")
    response = api.post("/api/plans/", {"title": "c"}, format="json")
    assert response.status_code == 400
    assert "up to 2 plans" in response.json()["detail"]


def test_another_learner_gets_404_everywhere(api, other_api):
    plan = create(api, **as_json(COMPLETE_PLAN))
    base = f"/api/plans/{plan['id']}/"
    assert other_api.get(base).status_code == 404
    assert other_api.patch(base, {"title": "mine now"}, format="json").status_code == 404
    assert other_api.delete(base).status_code == 404
    assert other_api.get(base + "markdown/").status_code == 404
    assert other_api.get("/api/plans/").json() == []
    stored = DistillationPlan.objects.get(pk=plan["id"])
    assert stored.title == COMPLETE_PLAN["title"]
    # A missing plan answers the same way as someone else's.
    missing = other_api.get("/api/plans/999999/")
    assert missing.status_code == 404
    assert other_api.get(base).json() == missing.json()


def test_anonymous_requests_are_401(anon_api, api):
    plan = create(api)
    for method, url in [
        ("get", "/api/plans/"),
        ("post", "/api/plans/"),
        ("get", f"/api/plans/{plan['id']}/"),
        ("get", f"/api/plans/{plan['id']}/markdown/"),
    ]:
        assert getattr(anon_api, method)(url).status_code == 401


def test_markdown_download(api):
    plan = create(api, **as_json(COMPLETE_PLAN))
    response = api.get(f"/api/plans/{plan['id']}/markdown/", HTTP_ACCEPT="text/markdown")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="distillation-plan-sql-assistant-v1.md"'
    text = response.content.decode()
    assert text.startswith("# Distillation plan: SQL assistant, v1\n")
    assert "Break-even volume | 70,741 requests" in text


def test_markdown_404_even_when_asking_for_markdown(other_api, api):
    plan = create(api)
    response = other_api.get(f"/api/plans/{plan['id']}/markdown/", HTTP_ACCEPT="text/markdown")
    assert response.status_code == 404


def test_schema_documents_the_plan_endpoints(api):
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    assert set(paths["/api/plans/"]) >= {"get", "post"}
    assert set(paths["/api/plans/{plan_id}/"]) >= {"get", "patch", "delete"}
    assert "text/markdown" in paths["/api/plans/{plan_id}/markdown/"]["get"]["responses"]["200"]["content"]
    for code in ("400", "401"):
        assert code in paths["/api/plans/"]["post"]["responses"]
    assert "404" in paths["/api/plans/{plan_id}/"]["patch"]["responses"]
    components = schema["components"]["schemas"]
    assert "calculator" in components["PlanOutput"]["properties"]


# The contract the schema states (tests/api/test_fuzz.py found each of these apart from it).


def test_amounts_with_more_decimal_places_are_rounded_not_refused(api):
    body = create(api, title="t", teacher_cost_per_request=0.123456789, training_cost=0.1 + 0.2)
    assert body["teacher_cost_per_request"] == 0.12345679
    assert body["training_cost"] == 0.3
    assert create(api, title="t", teacher_cost_per_output=1.5e-261)["teacher_cost_per_output"] == 0.0


def test_the_largest_amounts_the_schema_allows_read_back(api):
    properties = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["components"][
        "schemas"
    ]["PlanInputRequest"]["properties"]
    assert (properties["teacher_cost_per_request"]["maximum"], properties["training_cost"]["maximum"]) == (
        99_999_999,
        99_999_999_999_999,
    )
    plan = create(api, title="t", teacher_cost_per_request=99_999_998.99999999, training_cost=99_999_999_999_999)
    assert api.get(f"/api/plans/{plan['id']}/").status_code == 200  # SQLite keeps floats: 15 significant digits
    too_much = api.post("/api/plans/", {"title": "t", "teacher_cost_per_request": 99_999_999.99999999}, format="json")
    assert list(too_much.json()["errors"]) == ["teacher_cost_per_request"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": "t", "student_fallback": 0}, "student_fallback"),  # was stored as "0"
        ({"title": 12}, "title"),
        ({"title": "t", "terms_of_use_resolved": 0}, "terms_of_use_resolved"),
        ({"title": "t", "terms_of_use_resolved": "yes"}, "terms_of_use_resolved"),
        ({"title": "t", "inputs_count": "25000"}, "inputs_count"),
        ({"title": "t", "training_cost": "48"}, "training_cost"),
        ({"title": "t", "mode": 1}, "mode"),
    ],
)
def test_json_values_must_have_the_schemas_types(api, payload, field):
    response = api.post("/api/plans/", payload, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == [field]
    assert not DistillationPlan.objects.exists()


@pytest.mark.parametrize("encoding", ["multipart", "urlencoded"])
def test_forms_spell_the_schemas_values(api, encoding):
    plan = create(api, title="Form")
    url = f"/api/plans/{plan['id']}/"
    fields = {"terms_of_use_resolved": "true", "inputs_count": "null", "training_cost": "48.5", "task": ""}
    if encoding == "multipart":
        response = api.patch(url, fields, format="multipart")
    else:
        from urllib.parse import urlencode

        response = api.patch(url, urlencode(fields), content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["terms_of_use_resolved"], body["inputs_count"], body["training_cost"]) == (True, None, 48.5)
    refused = api.patch(url, {"terms_of_use_resolved": "0", "capacity_gap_resolved": "on"}, format="multipart")
    assert refused.status_code == 400
    assert set(refused.json()["errors"]) == {"terms_of_use_resolved", "capacity_gap_resolved"}


def test_text_is_measured_as_sent_though_it_is_stored_trimmed(api):
    plan = create(api, title="  Trimmed  ")
    assert plan["title"] == "Trimmed"
    response = api.patch(f"/api/plans/{plan['id']}/", {"mode_reason": " " + "x" * 5000}, format="json")
    assert response.status_code == 400  # 5,001 characters: over maxLength, though 5,000 once trimmed
    assert response.json()["errors"] == {"mode_reason": ["Ensure this field has no more than 5000 characters."]}


def test_a_form_field_that_takes_one_value_is_given_once(api):
    plan = create(api, title="Once")
    response = api.patch(
        f"/api/plans/{plan['id']}/",
        "training_cost=null&training_cost=null",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"training_cost": ["Send one value, not several."]}


@pytest.mark.parametrize("body", [{}, {"titel": "Misspelt"}])
def test_patch_that_changes_nothing_is_a_400(api, body):
    plan = create(api, title="Keep me")
    response = api.patch(f"/api/plans/{plan['id']}/", body, format="json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Invalid input. Nothing to change: send at least one of title, task")
    assert api.patch(f"/api/plans/{plan['id']}/").status_code == 400  # no body at all
    assert DistillationPlan.objects.get(pk=plan["id"]).title == "Keep me"


def test_an_empty_format_is_as_unknown_as_any_other(api):
    plan = create(api)
    url = f"/api/plans/{plan['id']}/markdown/"
    assert api.get(url, {"format": "md"}).status_code == 200
    assert api.get(url, {"format": ""}).status_code == 404
    assert api.get(url, {"format": "pdf"}).status_code == 404


def test_schema_states_the_rules(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    patch = schema["paths"]["/api/plans/{plan_id}/"]["patch"]
    assert patch["requestBody"]["required"] is True
    change = schema["components"]["schemas"]["PatchedPlanInputRequest"]
    assert {"required": ["title"]} in change["anyOf"] and {"required": ["training_cost"]} in change["anyOf"]
    assert change["properties"]["title"]["pattern"] == NOT_BLANK_PATTERN  # trimmed: white space alone is blank
    assert change["properties"]["task"]["not"] == {"pattern": r"\u0000"}
    assert "415" in schema["paths"]["/api/plans/"]["post"]["responses"]
