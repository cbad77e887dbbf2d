"""Schema-driven fuzz of the whole /api/ (schemathesis, in-process through the WSGI app): the API keeps its contract.

Every operation of /api/schema/ gets requests as a signed-in learner with a deck, queued submissions, a run on
examples and plans: first schemathesis' coverage cases (each value the schema allows at its edges and each it
forbids, a missing required header, a method the operation does not have), then a few Hypothesis examples, valid
and invalid, both with ids that name nothing and with the learner's own. No response may be a 5xx the schema does
not document or break the documented schema (status codes, headers, content types, bodies); a request the schema
allows must not be refused, one it forbids must not be accepted.

Bounded and repeatable: derandomized Hypothesis with a fixed number of examples per operation, throttles off.
"""

from __future__ import annotations

import collections
import itertools

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    missing_required_header,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

pytestmark = pytest.mark.fuzz

EXAMPLES = 10  # Hypothesis examples per operation, for each mode (valid, invalid) and each kind of id
# Coverage cases per operation and kind (valid or not, scenario, parameter, media type), spread over the kind's
# cases: an enum of 600 timezones or a PATCH of 25 optional fields would otherwise send thousands.
COVERAGE_CASES_PER_KIND = 4
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)

# Refusals no schema can state: the request has the documented shape, and a rule about other data (who is
# registered, the password list, the learner's plans or card) says no. Per operation, the only messages a 400 to a
# request the schema allows may carry; any other such 400 is a mismatch between schema and behaviour.
BEYOND_THE_SCHEMA = {
    "POST /api/auth/token/": ["Unable to log in with the username and password given."],
    "POST /api/auth/register/": [
        "That username is taken.",  # in any letter case
        "Another account already uses that address.",
        "The password is too similar to the",  # Django's password validators
        "This password is too common.",
        "This password is entirely numeric.",
    ],
    "PATCH /api/me/": ["Add an email address to get reminders"],
    # The shared text rule (learnpath.validators): which characters are invisible controls is Unicode data, stated
    # in words in the schema's descriptions rather than as a pattern (one of ~250 ranges made generation crawl).
    "POST /api/plans/": ["You can keep up to", "Remove "],
    "PATCH /api/plans/{plan_id}/": ["Remove "],
    "POST /api/reviews/{card_id}/": [  # what a card needs depends on its kind
        "This card is checked: send the learner's answer.",
        "Rate free-recall cards from 1 (Again) to 4 (Easy).",
    ],
}


def documented_or_not_a_server_error(ctx, response, case):
    """``not_a_server_error``, except a 503 the operation documents (readiness while a dependency is down):
    its headers and body are still held to the schema by the other checks."""
    if response.status_code == 503 and "503" in case.operation.definition.raw.get("responses", {}):
        return None
    return not_a_server_error(ctx, response, case)


def error_messages(body) -> list[str]:
    errors = body.get("errors", {}) if isinstance(body, dict) else {}
    return [
        str(message)
        for messages in errors.values()
        for message in (messages if isinstance(messages, list) else [messages])
    ]


def accepted_or_refused_beyond_the_schema(ctx, response, case):
    """``positive_data_acceptance``, except a 400 whose every message is one of the operation's rules that no schema
    can state (``BEYOND_THE_SCHEMA``)."""
    allowed = BEYOND_THE_SCHEMA.get(case.operation.label, [])
    if allowed and response.status_code == 400:
        try:
            messages = error_messages(response.json())
        except ValueError:
            messages = []
        if messages and all(any(rule in message for rule in allowed) for message in messages):
            return None
    return positive_data_acceptance(ctx, response, case)


CHECKS = [
    documented_or_not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    allow_header_conformance,
    accepted_or_refused_beyond_the_schema,
    negative_data_rejection,
    missing_required_header,
    unsupported_method,
]


@pytest.fixture
def api_schema(db, settings):
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from learnpath.wsgi import application

    # Throttles off: the fuzz is one learner sending thousands of requests, which is what they exist to stop.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"auth": None, "submissions": None, "example_runs": None},
    }
    settings.LOGIN_FAILURE_LIMIT = 10**9
    # As Django's test client does: the WSGI handler must not close the test's transaction after a request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/api/schema/", application)
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def learner(content):
    """A learner enrolled in the real path with drop 1 completed (a deck, reviews and progress exist), a
    submission waiting for a grader on each challenge, a finished run on examples and two plans; and, per path
    template, the ids of those."""
    from rest_framework.authtoken.models import Token

    from challenges.models import Challenge, ExampleRun
    from challenges.services import example_run_create, example_run_finish, submission_create
    from drops.models import Drop, ReviewCard
    from drops.services import drop_complete
    from learnpath import services
    from plans.services import plan_create

    user = services.user_register(username="fuzzer", password="a-long-fuzzing-pass-9", timezone_name="Asia/Tokyo")
    services.enrollment_create(user=user, path=content)
    first = Drop.objects.get(path=content, position=1)
    drop_complete(user=user, drop=first, seconds_spent=120)
    code = "def f():\n    return None\n"
    submissions = [submission_create(user=user, challenge=c, code=code) for c in Challenge.objects.order_by("pk")]
    run = example_run_create(user=user, challenge=submissions[0].challenge, code=code)
    example_run_finish(run_id=run.pk, status=ExampleRun.Status.FAILED, message="Did not load.")
    card = ReviewCard.objects.filter(user=user).order_by("pk").first()
    return {
        "token": Token.objects.create(user=user).key,
        "ids": {
            "/api/paths/{slug}": {"slug": content.slug},
            "/api/challenges/{slug}": {"slug": submissions[0].challenge.slug},
            "/api/drops/{drop_id}": {"drop_id": first.pk},
            "/api/example-runs/{run_id}": {"run_id": run.pk},
            "/api/submissions/{submission_id}": {"submission_id": submissions[0].pk},
            "/api/reviews/{card_id}": {"card_id": card.pk},
            "/api/cards/{card_id}": {"card_id": card.pk},
            "/api/plans/{plan_id}/markdown": {"plan_id": plan_create(owner=user, title="Exported").pk},
            "/api/plans/{plan_id}": {"plan_id": plan_create(owner=user, title="Kept").pk},
        },
    }


def coverage_cases(api_schema, operation) -> list:
    """The operation's coverage cases, at most ``COVERAGE_CASES_PER_KIND`` of each kind, evenly spread, in order."""
    generation = api_schema.config.generation_for(operation=operation)
    cases = list(api_schema.iter_coverage_cases(operation, generation_modes=list(MODES), generation_config=generation))
    kinds = collections.defaultdict(list)
    for index, case in enumerate(cases):
        data = case.meta.phase.data
        kinds[
            (case.meta.generation.mode, data.scenario, data.parameter_location, data.parameter, case.media_type)
        ].append(index)
    chosen = set()
    for indices in kinds.values():
        count = min(COVERAGE_CASES_PER_KIND, len(indices))
        chosen.update(indices[n * len(indices) // count] for n in range(count))
    return [cases[index] for index in sorted(chosen)]


def own_ids(operation, ids: dict) -> dict | None:
    """The learner's own ids for the operation's path parameters (the longest matching template), if any."""
    matches = [template for template in ids if operation.path.startswith(template)]
    return ids[max(matches, key=len)] if matches else None


# Every operation in one test, so the time grows with the API (about 40 operations, 4-5 minutes on a loaded
# 2-core machine): pytest-timeout's per-test 300 s would stop it half-way there. A hang still ends the test.
@pytest.mark.timeout(1500)
def test_api_keeps_its_contract(api_schema, learner):
    # schemathesis' pytest plugin does not run under pytest 9, so each operation gets its own runs here.
    failures: dict[tuple[str, str], str] = {}
    keys = (f"fuzz-{number}" for number in itertools.count())

    def call_and_check(case) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Token {learner['token']}"}
        # A client sends a new Idempotency-Key per action, and the same key with another request is a 422 (as
        # documented). Derandomized examples draw the same few keys again, so a valid one is made unique; an
        # invalid one is kept, for the 400 it must get.
        key = next((name for name in case.headers if name.lower() == "idempotency-key"), None)
        if key and not (case.meta and case.meta.is_negative_at(ParameterLocation.HEADER)):
            case.headers[key] = next(keys)
        if case.media_type == "multipart/form-data" and isinstance(case.body, dict) and "" in case.body.values():
            # Werkzeug's encoder (the in-process transport) writes an empty part with no line break before the
            # next boundary, and Django then reads no field at all; a urlencoded form, which the API reads the same
            # way, carries the empty value.
            case.media_type = "application/x-www-form-urlencoded"
        response = case.call()
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                record(case, response, failure)
        except Failure as failure:
            record(case, response, failure)

    def record(case, response, failure: Failure) -> None:
        # One report per operation and kind of failure: the first request that showed it.
        lines = [line for line in (failure.message or "").splitlines() if "Invalid component" in line]
        key = (case.operation.label, f"{failure.title} {lines[0].strip() if lines else ''}")
        failures.setdefault(
            key,
            f"{failure.message}\n[{response.status_code}] {response.text[:500]}\n{case.as_curl_command()}",
        )

    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 30
    for operation in operations:
        for case in coverage_cases(api_schema, operation):
            call_and_check(case)
        own = own_ids(operation, learner["ids"])
        for path_parameters in [None, own] if own else [None]:
            for mode in MODES:
                strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

                @given(case=strategy)
                @settings(
                    max_examples=EXAMPLES,
                    derandomize=True,
                    deadline=None,
                    database=None,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=list(HealthCheck),
                )
                def fuzz(case):
                    call_and_check(case)

                try:
                    fuzz()
                except Unsatisfiable:
                    if mode is GenerationMode.POSITIVE:
                        raise
                    # Nothing left to get wrong: no parameter or body that an invalid value could go in.
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(
        f"{label}: {title}\n{text}" for (label, title), text in failures.items()
    )
