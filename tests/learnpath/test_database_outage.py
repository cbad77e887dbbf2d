"""A database that cannot be reached answers 503 with Retry-After, naming it: never a 500, never a hang.

The connection is pointed at a server that is not there (a closed port for PostgreSQL, a folder that does not
exist for SQLite), so the failure is the driver's own, wherever the request meets it. The PostgreSQL restart
itself, under load, is in tests/faults.
"""

from __future__ import annotations

import socket

import pytest
from django.db import connection
from django.test import Client

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def database_gone(settings):
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent-learnpath-folder/db.sqlite3"
    else:
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        closed.close()
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(port))
    yield
    connection.close()
    connection.settings_dict.clear()
    connection.settings_dict.update(saved)


def test_api_and_pages_answer_503_naming_the_database(learner, database_gone):
    client = Client(raise_request_exception=False)
    response = client.get("/api/paths/")
    assert response.status_code == 503
    assert response["Retry-After"].isdigit() and int(response["Retry-After"]) > 0
    body = response.json()
    assert body["unavailable"] == ["database"] and "database" in body["detail"]
    page = client.get("/certificates/abcdefghijklmnop/")  # public: anyone may verify a certificate
    assert page.status_code == 503 and page["Retry-After"]
    assert "cannot reach its database" in page.content.decode()


def test_a_write_while_the_database_is_down_is_503_and_stores_nothing(learner, database_gone):
    client = Client(raise_request_exception=False)
    response = client.post(
        "/api/auth/register/",
        {"username": "newcomer", "password": "a-long-pass-phrase-9", "timezone": "UTC"},
        content_type="application/json",
    )
    assert response.status_code == 503 and response.json()["unavailable"] == ["database"]


def test_health_stays_up_without_the_database(database_gone):
    # Liveness says the process answers; readiness (/api/ready/) says whether it can serve.
    assert Client(raise_request_exception=False).get("/api/health/").status_code == 200
