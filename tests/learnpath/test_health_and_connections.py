"""The health endpoint operators point load balancers at, and persistent database connections."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_health_answers_without_a_session_or_a_query(db, client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/api/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_ignores_credentials(anon_api):
    anon_api.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert anon_api.get("/api/health/").status_code == 200


def _database_setting(**env) -> str:
    code = "import django; django.setup(); from django.conf import settings; d = settings.DATABASES['default'];"
    code += "print(d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'])"
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "learnpath.settings.production", "SECRET_KEY": "x" * 50}
    environment.pop("CONN_MAX_AGE", None)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment | env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_database_connections_persist_by_default_and_follow_the_environment():
    assert _database_setting() == "60 True"
    assert _database_setting(CONN_MAX_AGE="0") == "0 True"
    assert _database_setting(CONN_MAX_AGE="600") == "600 True"
