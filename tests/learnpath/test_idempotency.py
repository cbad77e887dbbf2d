"""Retry-safe writes (Idempotency-Key) through the HTTP API and the site's forms.

The same key from the same learner within the TTL gets the first response again and records nothing again; the
same key with another request is a 422; a failure keeps nothing, so its retry runs; requests without a key are
untouched.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
import time_machine

from challenges.models import ExampleRun, HintReveal, Submission
from drops.models import Drop, ReviewCard, ReviewLog
from drops.services import drop_complete
from learnpath import services as learnpath_services
from learnpath.models import Enrollment, IdempotencyRecord
from learnpath.tasks import prune_idempotency_records
from plans.models import DistillationPlan
from tests.conftest import api_client_for
from tests.drops.conftest import build_path, utc

NOW = utc(2026, 6, 1, 9)
CHALLENGE = "distillation-loss"
CODE = "def distillation_loss(*args):\n    return 0\n"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def world(db, challenge):
    """A small path to learn (``tiny``) and another to enrol in (``second``); the distillation-loss challenge."""
    return {"tiny": build_path("tiny", drops=3), "second": build_path("second", drops=2)}


def key() -> str:
    return str(uuid.uuid4())


def recall_card(user) -> ReviewCard:
    return ReviewCard.objects.get(user=user, card__kind="recall", card__drop__position=1)


def deck_ready(user, world) -> None:
    """Enrolled in ``tiny`` an hour ago, drop 1 read: its three cards are in the deck, in learning."""
    with time_machine.travel(NOW - timedelta(hours=1), tick=False):
        learnpath_services.enrollment_create(user=user, path=world["tiny"])
    drop_complete(user=user, drop=Drop.objects.get(path=world["tiny"], position=1), seconds_spent=60)


@dataclass(frozen=True)
class Write:
    """One retry-safe operation: where it posts for a learner, with what, and how many rows it has recorded."""

    name: str
    prepare: Callable  # (user, world) -> url
    body: dict | None
    other_body: dict
    recorded: Callable  # (user) -> int


def _drop_complete_url(user, world):
    learnpath_services.enrollment_create(user=user, path=world["tiny"])
    return f"/api/drops/{Drop.objects.get(path=world['tiny'], position=1).pk}/complete/"


def _review_url(user, world):
    deck_ready(user, world)
    return f"/api/reviews/{recall_card(user).pk}/"


WRITES = [
    Write(
        "drop completion",
        _drop_complete_url,
        {"seconds_spent": 60},
        {"seconds_spent": 61},
        lambda user: ReviewCard.objects.filter(user=user).count(),
    ),
    Write(
        "review rating",
        _review_url,
        {"rating": 3},
        {"rating": 4},
        lambda user: ReviewLog.objects.filter(user=user).count(),
    ),
    Write(
        "submission",
        lambda user, world: f"/api/challenges/{CHALLENGE}/submissions/",
        {"code": CODE},
        {"code": CODE + "# another\n"},
        lambda user: Submission.objects.filter(user=user).count(),
    ),
    Write(
        "example run",
        lambda user, world: f"/api/challenges/{CHALLENGE}/try/",
        {"code": CODE},
        {"code": CODE + "# another\n"},
        lambda user: ExampleRun.objects.filter(user=user).count(),
    ),
    Write(
        "hint reveal",
        lambda user, world: f"/api/challenges/{CHALLENGE}/hints/",
        None,
        {"note": "not the same request"},
        lambda user: HintReveal.objects.filter(user=user).count(),
    ),
    Write(
        "enrolment",
        lambda user, world: "/api/paths/second/enroll/",
        None,
        {"note": "not the same request"},
        lambda user: Enrollment.objects.filter(user=user).count(),
    ),
    Write(
        "plan creation",
        lambda user, world: "/api/plans/",
        {"title": "SQL assistant"},
        {"title": "Support bot"},
        lambda user: DistillationPlan.objects.filter(owner=user).count(),
    ),
]
WRITE_IDS = [write.name for write in WRITES]


def post(client, url: str, body: dict | None, idempotency_key: str | None = None):
    headers = {"HTTP_IDEMPOTENCY_KEY": idempotency_key} if idempotency_key is not None else {}
    if body is None:
        return client.post(url, **headers)
    return client.post(url, body, format="json", **headers)


def client_of(user):
    client = api_client_for(user)
    client.user = user
    return client


@pytest.fixture
def learner_api(learner):
    return client_of(learner)


# --------------------------------------------------------------------------- the API, each operation


@pytest.mark.parametrize("write", WRITES, ids=WRITE_IDS)
def test_the_same_key_twice_records_once_and_replays_the_first_response(learner_api, world, write):
    url = write.prepare(learner_api.user, world)
    before = write.recorded(learner_api.user)
    the_key = key()
    first = post(learner_api, url, write.body, the_key)
    assert 200 <= first.status_code < 300, first.content
    recorded = write.recorded(learner_api.user)
    assert recorded >= before

    again = post(learner_api, url, write.body, the_key)

    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert again["Content-Type"] == first["Content-Type"]
    assert again["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert write.recorded(learner_api.user) == recorded


@pytest.mark.parametrize("write", WRITES, ids=WRITE_IDS)
def test_the_same_key_with_another_request_is_422_and_records_nothing(learner_api, world, write):
    url = write.prepare(learner_api.user, world)
    the_key = key()
    assert post(learner_api, url, write.body, the_key).status_code < 300
    recorded = write.recorded(learner_api.user)

    reused = post(learner_api, url, write.other_body, the_key)

    assert reused.status_code == 422
    assert "Idempotency-Key" in reused.json()["detail"]
    assert write.recorded(learner_api.user) == recorded


@pytest.mark.parametrize("write", WRITES, ids=WRITE_IDS)
def test_keys_are_per_learner(learner_api, world, write, make_user):
    other = client_of(make_user("bo"))
    the_key = key()
    mine = post(learner_api, write.prepare(learner_api.user, world), write.body, the_key)
    theirs = post(other, write.prepare(other.user, world), write.body, the_key)

    assert mine.status_code < 300 and theirs.status_code < 300
    assert not theirs.has_header("Idempotent-Replayed")
    assert write.recorded(other.user) >= 1


def test_a_failed_request_keeps_nothing_and_its_retry_with_the_same_key_runs(learner_api, world):
    url = _review_url(learner_api.user, world)
    the_key = key()

    refused = post(learner_api, url, {"rating": 3, "duration_ms": -1}, the_key)
    assert refused.status_code == 400
    assert ReviewLog.objects.filter(user=learner_api.user).count() == 0

    # The client fixes its request and sends it again with the same key: it runs, once.
    fixed = post(learner_api, url, {"rating": 3, "duration_ms": 1200}, the_key)
    assert fixed.status_code == 200 and not fixed.has_header("Idempotent-Replayed")
    again = post(learner_api, url, {"rating": 3, "duration_ms": 1200}, the_key)
    assert again["Idempotent-Replayed"] == "true"
    assert ReviewLog.objects.filter(user=learner_api.user).count() == 1


def test_a_refusal_keeps_nothing_so_the_same_request_runs_once_it_can(learner_api, world):
    """The next drop is locked until tomorrow (403): the same request with the same key then runs."""
    from learnpath.services import profile_update

    profile_update(user=learner_api.user, read_ahead_per_day=0)  # no reading ahead: drop 2 waits for its day
    url = _drop_complete_url(learner_api.user, world)
    post(learner_api, url, {"seconds_spent": 60})
    drop2 = Drop.objects.get(path=world["tiny"], position=2)
    the_key = key()

    locked = post(learner_api, f"/api/drops/{drop2.pk}/complete/", {"seconds_spent": 30}, the_key)
    assert locked.status_code == 403

    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        done = post(learner_api, f"/api/drops/{drop2.pk}/complete/", {"seconds_spent": 30}, the_key)
    assert done.status_code == 201 and not done.has_header("Idempotent-Replayed")


def test_the_fingerprint_ignores_the_order_of_the_fields(learner_api, world):
    url = _review_url(learner_api.user, world)
    the_key = key()
    first = learner_api.post(
        url, '{"rating": 3, "duration_ms": 900}', content_type="application/json", HTTP_IDEMPOTENCY_KEY=the_key
    )
    again = learner_api.post(
        url, '{"duration_ms": 900, "rating": 3}', content_type="application/json", HTTP_IDEMPOTENCY_KEY=the_key
    )
    assert first.status_code == 200
    assert (again.status_code, again["Idempotent-Replayed"], again.content) == (200, "true", first.content)


def test_without_a_key_every_request_runs(learner_api, world):
    for _ in range(2):
        assert post(learner_api, f"/api/challenges/{CHALLENGE}/hints/", None).status_code == 201
    assert HintReveal.objects.filter(user=learner_api.user).count() == 2
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.parametrize(
    "bad_key",
    ["", "   ", " leading-space", "k" * 256, "caf\u00e9", "line\nbreak", "tab\tinside"],
    ids=["empty", "blank", "leading-space", "long", "non-ascii", "newline", "tab"],
)
def test_a_malformed_key_is_400_and_runs_nothing(learner_api, world, bad_key):
    response = post(learner_api, f"/api/challenges/{CHALLENGE}/hints/", None, bad_key)
    assert response.status_code == 400
    body = response.json()
    assert "printable ASCII" in body["detail"] and "Idempotency-Key" in body["errors"]
    assert not HintReveal.objects.exists()


def test_a_key_in_double_quotes_as_the_draft_writes_it_is_the_same_key(learner_api, world):
    url = f"/api/challenges/{CHALLENGE}/hints/"
    first = post(learner_api, url, None, '"8e03978e-40d5-43e8-bc93-6894a57f9324"')
    again = post(learner_api, url, None, "8e03978e-40d5-43e8-bc93-6894a57f9324")
    assert again["Idempotent-Replayed"] == "true" and again.content == first.content
    assert post(learner_api, url, None, "k" * 255).status_code == 201  # the longest key
    assert HintReveal.objects.filter(user=learner_api.user).count() == 2


def test_a_record_older_than_the_ttl_no_longer_replays(learner_api, world, settings, frozen):
    settings.IDEMPOTENCY_TTL_SECONDS = 3600
    url = f"/api/challenges/{CHALLENGE}/hints/"
    the_key = key()
    first = post(learner_api, url, None, the_key)
    frozen.shift(timedelta(minutes=59))
    assert post(learner_api, url, None, the_key)["Idempotent-Replayed"] == "true"

    frozen.shift(timedelta(minutes=2))
    second = post(learner_api, url, None, the_key)
    assert second.status_code == 201 and not second.has_header("Idempotent-Replayed")
    assert (first.json()["index"], second.json()["index"]) == (0, 1)
    # The new response replaced the old one: it is what a retry gets now.
    replay = post(learner_api, url, None, the_key)
    assert replay["Idempotent-Replayed"] == "true" and replay.content == second.content
    assert HintReveal.objects.filter(user=learner_api.user).count() == 2


def test_the_ttl_is_24_hours_by_default(learner_api, world, frozen):
    url = f"/api/challenges/{CHALLENGE}/hints/"
    the_key = key()
    post(learner_api, url, None, the_key)
    frozen.shift(timedelta(hours=23, minutes=59))
    assert post(learner_api, url, None, the_key)["Idempotent-Replayed"] == "true"
    frozen.shift(timedelta(minutes=2))
    assert not post(learner_api, url, None, the_key).has_header("Idempotent-Replayed")


def test_the_pruning_task_deletes_the_records_past_the_ttl(learner_api, world, frozen):
    url = f"/api/challenges/{CHALLENGE}/hints/"
    post(learner_api, url, None, key())
    frozen.shift(timedelta(hours=12))
    post(learner_api, url, None, key())
    frozen.shift(timedelta(hours=13))

    assert prune_idempotency_records.apply().get() == 1  # run here, as a worker would
    assert IdempotencyRecord.objects.count() == 1


def test_the_pruning_task_is_on_the_beat_schedule(settings):
    entries = [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()]
    assert "learnpath.prune_idempotency_records" in entries
    assert "learnpath.tasks" in settings.CELERY_IMPORTS


def test_a_learning_card_rated_twice_with_one_key_stays_as_after_one_rating(learner_api, world, settings):
    """The issue's phone on a flaky network: the rating arrived, the answer did not, the phone sent it again."""
    settings.FSRS_FUZZING = False
    url = _review_url(learner_api.user, world)
    assert recall_card(learner_api.user).state == ReviewCard.State.LEARNING
    the_key = key()

    post(learner_api, url, {"rating": 3, "duration_ms": 4000}, the_key)
    after_one = ReviewCard.objects.filter(pk=recall_card(learner_api.user).pk).values().get()
    with time_machine.travel(NOW + timedelta(minutes=11), tick=False):  # the learning step has come due again
        post(learner_api, url, {"rating": 3, "duration_ms": 4000}, the_key)

    assert ReviewCard.objects.filter(pk=after_one["id"]).values().get() == after_one
    assert ReviewLog.objects.filter(user=learner_api.user).count() == 1
    session = learner_api.get("/api/reviews/session/").json()
    assert session["last_session"]["reviews"] == 1


# --------------------------------------------------------------------------- the OpenAPI schema

OPERATIONS = [
    ("/api/drops/{drop_id}/complete/", "post"),
    ("/api/reviews/{card_id}/", "post"),
    ("/api/challenges/{slug}/submissions/", "post"),
    ("/api/challenges/{slug}/try/", "post"),
    ("/api/challenges/{slug}/hints/", "post"),
    ("/api/paths/{slug}/enroll/", "post"),
    ("/api/plans/", "post"),
]


def test_the_schema_documents_the_header_and_the_422_on_each_retry_safe_write(anon_api):
    from drf_spectacular.validation import validate_schema

    schema = anon_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    validate_schema(schema)
    for path, method in OPERATIONS:
        operation = schema["paths"][path][method]
        header = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
        assert header["in"] == "header" and not header.get("required")
        assert (header["schema"]["minLength"], header["schema"]["maxLength"]) == (1, 255)
        assert {"422", "400"} <= set(operation["responses"]), path
        successes = [code for code in operation["responses"] if code.startswith("2")]
        assert all("Idempotent-Replayed" in operation["responses"][code]["headers"] for code in successes), path
    # Reads and other writes are left as they were.
    assert all(p["name"] != "Idempotency-Key" for p in schema["paths"]["/api/today/"]["get"].get("parameters", []))
    assert "422" not in schema["paths"]["/api/reviews/{card_id}/check/"]["post"]["responses"]


def test_the_schema_generates_without_warnings():
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


# --------------------------------------------------------------------------- the site's forms

HIDDEN_KEY = re.compile(r'name="idempotency_key" value="([0-9a-f-]{36})"')


def form_key(html: str, after: str = "") -> str:
    return HIDDEN_KEY.search(html, html.index(after) if after else 0).group(1)


@pytest.fixture
def browser_client(client, learner):
    client.force_login(learner)
    client.user = learner
    return client


@dataclass(frozen=True)
class Form:
    """A page's form of a retry-safe operation: the page that shows it, where it posts and with what."""

    name: str
    prepare: Callable  # (user, world) -> (page url, form marker, post url, data)
    other_data: dict
    recorded: Callable  # (user) -> int


def _drop_form(user, world):
    learnpath_services.enrollment_create(user=user, path=world["tiny"])
    drop = Drop.objects.get(path=world["tiny"], position=1)
    action = f"/drops/{drop.pk}/complete/"
    return f"/drops/{drop.pk}/", action, action, {"seconds_spent": "60"}


def _rating_form(user, world):
    deck_ready(user, world)
    card = recall_card(user)
    # The review page shows the next due card; the form of each card is the same template.
    ReviewCard.objects.filter(user=user).exclude(pk=card.pk).update(due=NOW + timedelta(days=3))
    return "/review/", "data-rate", f"/review/{card.pk}/", {"rating": "3", "duration_ms": "3000"}


def _enrol_form(user, world):
    return "/paths/second/", "/paths/second/enroll/", "/paths/second/enroll/", {}


def _hint_form(user, world):
    url = f"/challenges/{CHALLENGE}/"
    return url, 'id="hint-form"', url, {"action": "hint"}


def _submit_form(user, world):
    url = f"/challenges/{CHALLENGE}/"
    return url, 'id="submit-form"', url, {"code": CODE}


def _plan_form(user, world):
    return "/plans/new/", "data-plan-form", "/plans/new/", {"title": "SQL assistant"}


FORMS = [
    Form(
        "drop completion",
        _drop_form,
        {"seconds_spent": "61"},
        lambda user: ReviewCard.objects.filter(user=user).count(),
    ),
    Form("review rating", _rating_form, {"rating": "4"}, lambda user: ReviewLog.objects.filter(user=user).count()),
    Form("enrolment", _enrol_form, {"note": "x"}, lambda user: Enrollment.objects.filter(user=user).count()),
    Form(
        "hint reveal",
        _hint_form,
        {"action": "hint", "note": "x"},
        lambda user: HintReveal.objects.filter(user=user).count(),
    ),
    Form("submission", _submit_form, {"code": "x = 1"}, lambda user: Submission.objects.filter(user=user).count()),
    Form(
        "plan creation",
        _plan_form,
        {"title": "Support bot"},
        lambda user: DistillationPlan.objects.filter(owner=user).count(),
    ),
]
FORM_IDS = [form.name for form in FORMS]


@pytest.mark.parametrize("form", FORMS, ids=FORM_IDS)
def test_a_form_posted_twice_with_its_hidden_key_records_once(browser_client, world, form):
    page, marker, action, data = form.prepare(browser_client.user, world)
    html = browser_client.get(page).content.decode()
    hidden_key = form_key(html, marker)
    data = {**data, "idempotency_key": hidden_key}

    first = browser_client.post(action, data)
    assert first.status_code == 302, first.content.decode()[:2000]
    recorded = form.recorded(browser_client.user)
    again = browser_client.post(action, data)

    assert (again.status_code, again["Location"], again["Idempotent-Replayed"]) == (302, first["Location"], "true")
    assert form.recorded(browser_client.user) == recorded >= 1
    # The same key with other answers is refused with a page that says so, and records nothing.
    reused = browser_client.post(action, {**form.other_data, "idempotency_key": hidden_key}, HTTP_REFERER=page)
    assert reused.status_code == 422
    assert "This form was already sent" in reused.content.decode()
    assert form.recorded(browser_client.user) == recorded


@pytest.mark.parametrize(
    ("page", "marker"),
    [
        ("/today/", "/paths/second/enroll/"),
        ("/paths/second/", "/paths/second/enroll/"),
        (f"/challenges/{CHALLENGE}/", 'id="hint-form"'),
    ],
)
def test_each_render_of_a_form_gets_a_fresh_key(browser_client, world, page, marker):
    first = form_key(browser_client.get(page).content.decode(), marker)
    second = form_key(browser_client.get(page).content.decode(), marker)
    assert first != second


def test_the_page_shown_again_after_a_hint_carries_a_new_key(browser_client, world):
    page = f"/challenges/{CHALLENGE}/"
    used = form_key(browser_client.get(page).content.decode(), 'id="hint-form"')
    browser_client.post(page, {"action": "hint", "idempotency_key": used})
    shown_again = browser_client.get(page).content.decode()
    assert form_key(shown_again, 'id="hint-form"') != used
    fresh = browser_client.post(page, {"action": "hint", "idempotency_key": form_key(shown_again, 'id="hint-form"')})
    assert not fresh.has_header("Idempotent-Replayed")
    assert HintReveal.objects.filter(user=browser_client.user).count() == 2


def test_a_form_refusal_keeps_nothing(browser_client, world):
    """With every hint seen the page says so (a redirect with a message): its key stays free for a retry."""
    from challenges.models import Challenge

    challenge = Challenge.objects.get(slug=CHALLENGE)
    page = f"/challenges/{CHALLENGE}/"
    for _ in challenge.hints:
        browser_client.post(page, {"action": "hint"})
    the_key = key()
    refused = browser_client.post(page, {"action": "hint", "idempotency_key": the_key})
    assert refused.status_code == 302 and not IdempotencyRecord.objects.filter(key=the_key).exists()


def test_a_malformed_form_key_is_a_400_page(browser_client, world):
    response = browser_client.post(f"/challenges/{CHALLENGE}/", {"action": "hint", "idempotency_key": "k" * 300})
    assert response.status_code == 400
    assert "printable ASCII" in response.content.decode()
    assert not HintReveal.objects.exists()
