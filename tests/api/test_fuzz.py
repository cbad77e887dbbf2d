"""Schema-driven fuzz of the whole /api/ (schemathesis, in-process through the WSGI app).

Every operation of /api/schema/ gets generated requests, valid and invalid, as a signed-in learner with a deck;
no response may be a 500 or break the documented schema (status codes, content types, bodies).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.fuzz

MAX_EXAMPLES = 50
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def api_schema(db):
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from learnpath.wsgi import application

    # As Django's test client does: the WSGI handler must not close the test's transaction after a request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/api/schema/", application)
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(content):
    """A learner enrolled in the real path, with drop 1 completed (so a deck, reviews and progress exist)."""
    from rest_framework.authtoken.models import Token

    from drops.models import Drop
    from drops.services import drop_complete
    from learnpath import services

    user = services.user_register(username="fuzzer", password="a-long-fuzzing-pass-9", timezone_name="Asia/Tokyo")
    services.enrollment_create(user=user, path=content)
    drop_complete(user=user, drop=Drop.objects.get(path=content, position=1), seconds_spent=120)
    return Token.objects.create(user=user).key


def test_api_never_errors_and_keeps_its_schema(api_schema, token):
    # schemathesis' pytest plugin does not run under pytest 9, so each operation gets its own Hypothesis run here.
    failures = {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
        )
        def call(case):
            case.headers = {**(case.headers or {}), "Authorization": f"Token {token}"}
            response = case.call()
            case.validate_response(response, checks=CHECKS)

        try:
            call()
        except (Exception, BaseExceptionGroup) as error:  # noqa: BLE001 - fuzz every operation, report all failures
            failures[operation.label] = f"{type(error).__name__}: {error}"
    assert not failures, "\n\n".join(f"{label}\n{text}" for label, text in failures.items())
