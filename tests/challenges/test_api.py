"""The challenge API through HTTP: shapes, ownership, limits, hints and the solution gate."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from challenges import dispatch
from challenges.models import HintReveal, Submission
from learnpath.api.schema import WHITESPACE
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_throttles():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def queued(monkeypatch):
    """Record what would be queued instead of talking to a broker."""
    sent: list[int] = []
    monkeypatch.setattr(dispatch, "submission_send", lambda submission: sent.append(submission.pk))
    return sent


def submit(api, code="def distillation_loss(*a):\n    return 0\n", slug="distillation-loss"):
    return api.post(f"/api/challenges/{slug}/submissions/", {"code": code}, format="json")


def test_list_shows_status_for_the_caller(api, challenge):
    response = api.get("/api/challenges/")
    assert response.status_code == 200
    items = response.json()
    # The path's three challenges, in the order of the drops that introduce them.
    assert [i["slug"] for i in items] == ["distillation-loss", "train-student", "sequence-distillation-loss"]
    assert [i["kind"] for i in items] == ["distillation-loss", "train-student", "sequence-distillation-loss"]
    item = items[0]
    assert item["status"] == "not_tried" and item["attempts"] == 0 and item["best_score"] is None
    assert item["drop_id"] == challenge.drop_id and item["url"] == "/challenges/distillation-loss/"


def test_list_requires_login(anon_api, challenge):
    assert anon_api.get("/api/challenges/").status_code in (401, 403)


def test_detail_hides_solution_until_pass(api, learner, challenge):
    data = api.get("/api/challenges/distillation-loss/").json()
    assert data["solution_code"] is None
    assert "def distillation_loss" in data["starter_code"]
    assert "<h2" in data["statement_html"] and "<script" not in data["statement_html"]
    assert data["hints_total"] == len(challenge.hints) and data["hints_revealed"] == []

    Submission.objects.create(user=learner, challenge=challenge, code="x", attempt=1, status="failed", score=0.5)
    assert api.get("/api/challenges/distillation-loss/").json()["solution_code"] is None
    Submission.objects.create(user=learner, challenge=challenge, code="x", attempt=2, status="passed", score=1.0)
    data = api.get("/api/challenges/distillation-loss/").json()
    assert data["solution_code"] == challenge.solution_code
    assert (data["status"], data["best_score"], data["attempts"]) == ("passed", 1.0, 2)


def test_unknown_challenge_is_404(api, challenge):
    for response in (
        api.get("/api/challenges/nope/"),
        submit(api, slug="nope"),
        api.get("/api/challenges/nope/submissions/"),
        api.post("/api/challenges/nope/hints/"),
    ):
        assert response.status_code == 404
        assert "detail" in response.json()


def test_submit_answers_202_and_queues_on_commit(api, learner, challenge, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(api)
    assert response.status_code == 202, response.json()
    data = response.json()
    assert data["status"] == "queued" and data["attempt"] == 1 and data["is_final"] is False
    assert data["url"] == f"/api/submissions/{data['id']}/"
    assert queued == [data["id"]]
    with django_capture_on_commit_callbacks(execute=True):
        assert submit(api).json()["attempt"] == 2


def test_submission_is_owner_only(api, make_user, challenge, queued):
    mine = submit(api).json()
    other = api_client_for(make_user("mallory"))
    assert other.get(f"/api/submissions/{mine['id']}/").status_code == 404
    assert other.get("/api/submissions/999999/").status_code == 404
    assert api.get(f"/api/submissions/{mine['id']}/").status_code == 200


def test_history_shows_only_your_own(api, make_user, challenge, queued):
    mine = submit(api, code="def distillation_loss(*a):\n    return 'mine'\n").json()
    other = api_client_for(make_user("mallory"))
    submit(other, code="def distillation_loss(*a):\n    return 'theirs'\n")
    history = api.get("/api/challenges/distillation-loss/submissions/").json()
    assert [s["id"] for s in history] == [mine["id"]]
    assert "mine" in history[0]["code"]
    assert len(other.get("/api/challenges/distillation-loss/submissions/").json()) == 1


def test_history_is_newest_first(api, challenge, queued):
    ids = [submit(api).json()["id"] for _ in range(3)]
    Submission.objects.update(status="failed")
    history = api.get("/api/challenges/distillation-loss/submissions/").json()
    assert [s["id"] for s in history] == ids[::-1]
    assert [s["attempt"] for s in history] == [3, 2, 1]


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({}, "code"),
        ({"code": ""}, "empty"),
        ({"code": "   \n"}, "empty"),
        ({"code": "x" * (64 * 1024 + 1)}, "64 KiB"),
        ({"code": "é" * (32 * 1024 + 1)}, "64 KiB"),
        ({"code": "def f():\n    return '\x00'\n"}, "code"),
        ({"code": 42}, "code"),
        ({"code": ["a"]}, "code"),
        ({"code": {"a": 1}}, "code"),
        ({"code": None}, "code"),
    ],
)
def test_bad_code_is_a_clear_400(api, challenge, queued, payload, fragment):
    response = api.post("/api/challenges/distillation-loss/submissions/", payload, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert fragment in body["detail"] or fragment in str(body["errors"])
    assert "code" in body["errors"]
    assert queued == [] and not Submission.objects.exists()


def test_code_at_the_limit_is_accepted(api, challenge, queued):
    code = "#" * (64 * 1024 - 1) + "\n"
    assert submit(api, code=code).status_code == 202


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("not json", "application/json"),
        ('["a list"]', "application/json"),
        ('"a string"', "application/json"),
        ("code=x", "text/plain"),
    ],
)
def test_malformed_bodies_never_500(api, challenge, queued, body, content_type):
    response = api.generic("POST", "/api/challenges/distillation-loss/submissions/", body, content_type=content_type)
    assert 400 <= response.status_code < 500
    assert "detail" in response.json()


def test_huge_body_is_refused_not_500(api, challenge, queued):
    response = api.generic(
        "POST",
        "/api/challenges/distillation-loss/submissions/",
        '{"code": "' + "x" * (3 * 1024 * 1024) + '"}',
        content_type="application/json",
    )
    assert 400 <= response.status_code < 500


def test_submissions_are_rate_limited_per_learner(api, make_user, challenge, queued, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"submissions": "2/min"}}
    settings.GRADING_MAX_IN_FLIGHT = 100
    assert submit(api).status_code == 202
    assert submit(api).status_code == 202
    response = submit(api)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["retry_after_seconds"] > 0
    # Reading is not throttled, and another learner has their own budget.
    assert api.get("/api/challenges/distillation-loss/submissions/").status_code == 200
    assert submit(api_client_for(make_user("bob"))).status_code == 202


def test_too_many_in_flight_is_409(api, challenge, queued, settings):
    settings.GRADING_MAX_IN_FLIGHT = 2
    assert submit(api).status_code == 202
    assert submit(api).status_code == 202
    response = submit(api)
    assert response.status_code == 409
    assert "waiting for a verdict" in response.json()["detail"]
    Submission.objects.update(status="failed")
    assert submit(api).status_code == 202


def test_hints_one_at_a_time_then_409(api, learner, challenge):
    total = len(challenge.hints)
    assert total >= 2
    for index in range(total):
        response = api.post("/api/challenges/distillation-loss/hints/")
        assert response.status_code == 201
        data = response.json()
        assert data["index"] == index and data["hint"] == challenge.hints[index]
        assert data["hints_left"] == total - index - 1
    response = api.post("/api/challenges/distillation-loss/hints/")
    assert response.status_code == 409
    assert "every hint" in response.json()["detail"]
    assert HintReveal.objects.filter(user=learner).count() == total
    assert api.get("/api/challenges/distillation-loss/").json()["hints_revealed"] == challenge.hints


def test_hints_are_per_learner(api, make_user, challenge):
    api.post("/api/challenges/distillation-loss/hints/")
    other = api_client_for(make_user("bob"))
    assert other.get("/api/challenges/distillation-loss/").json()["hints_revealed"] == []


def test_schema_documents_the_challenge_api(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    for path in (
        "/api/challenges/",
        "/api/challenges/{slug}/",
        "/api/challenges/{slug}/submissions/",
        "/api/challenges/{slug}/hints/",
        "/api/submissions/{submission_id}/",
    ):
        assert path in paths
    post = paths["/api/challenges/{slug}/submissions/"]["post"]
    assert {"202", "400", "429"} <= set(post["responses"])


def test_someone_elses_pass_does_not_reveal_the_solution(api, make_user, challenge):
    other = make_user("bob")
    Submission.objects.create(user=other, challenge=challenge, code="x", attempt=1, status="passed", score=1.0)
    data = api.get("/api/challenges/distillation-loss/").json()
    assert data["solution_code"] is None and data["status"] == "not_tried"
    assert {i["status"] for i in api.get("/api/challenges/").json()} == {"not_tried"}


def test_retired_challenge_is_gone(api, challenge, queued):
    challenge.is_active = False
    challenge.save()
    assert "distillation-loss" not in [i["slug"] for i in api.get("/api/challenges/").json()]
    assert submit(api).status_code == 404


# The contract the schema states (tests/api/test_fuzz.py found each of these apart from it).


def _schema(client) -> dict:
    return client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


def test_verdict_details_always_name_the_kind_that_tells_their_shape(api, learner, challenge, queued):
    schemas = _schema(api)["components"]["schemas"]
    details = schemas["VerdictDetails"]
    assert details["discriminator"]["propertyName"] == "kind"
    kinds = {}
    for branch in details["oneOf"]:
        shape = schemas[branch["$ref"].rsplit("/", 1)[1]]
        assert "kind" in shape["required"]
        kinds[branch["$ref"]] = set(schemas[shape["properties"]["kind"]["allOf"][0]["$ref"].rsplit("/", 1)[1]]["enum"])
    # Each kind names exactly one shape, as the mapping says: a queued loss submission matches only one branch.
    assert sorted(kind for names in kinds.values() for kind in names) == sorted(details["discriminator"]["mapping"])
    assert all(kinds[ref] >= {kind} for kind, ref in details["discriminator"]["mapping"].items())

    submission = Submission.objects.get(pk=submit(api).json()["id"])
    assert api.get(f"/api/submissions/{submission.pk}/").json()["details"] == {"kind": "distillation-loss"}
    Submission.objects.filter(pk=submission.pk).update(status="error", details={"cases": 0})  # a row without kind
    assert api.get(f"/api/submissions/{submission.pk}/").json()["details"] == {"kind": "distillation-loss", "cases": 0}


@pytest.mark.parametrize("endpoint", ["submissions", "try"])
def test_code_the_schema_refuses_is_the_code_refused(api, challenge, queued, endpoint):
    component = {"submissions": "SubmissionInputRequest", "try": "ExampleRunInputRequest"}[endpoint]
    code = _schema(api)["components"]["schemas"][component]["properties"]["code"]
    assert (code["minLength"], code["maxLength"]) == (1, 64 * 1024)
    # Something besides white space, and no NUL character: the same rule in the schema's regex and the server's.
    assert code["pattern"] == rf"^[^\u0000]*[^{WHITESPACE}\u0000][^\u0000]*$"
    for text in ("", " \n\t", "\x1e", "x\x00"):
        response = api.post(f"/api/challenges/distillation-loss/{endpoint}/", {"code": text}, format="json")
        assert response.status_code == 400 and list(response.json()["errors"]) == ["code"], text
    assert queued == []
