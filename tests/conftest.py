"""Shared fixtures. With REQUIRE_SERVICES=1 (CI) a missing PostgreSQL or Redis fails the run instead of skipping."""

from __future__ import annotations

import os
import shutil

import pytest
from django.conf import settings

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1" or os.environ.get("CI") == "true"
DISTILLATION = "model-distillation"

pytest_plugins = [
    "tests.fixtures.browser",
    "tests.fixtures.sandbox",
    "tests.fixtures.worker",
    "tests.fixtures.services",
]


def pytest_sessionstart(session):
    if not REQUIRE_SERVICES:
        return
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        pytest.exit(f"REQUIRE_SERVICES is set but DATABASE_URL points at {engine}, not PostgreSQL", returncode=3)
    if not settings.REDIS_URL:
        pytest.exit("REQUIRE_SERVICES is set but REDIS_URL is empty", returncode=3)
    problem = redis_problem(settings.REDIS_URL)
    if problem:
        pytest.exit(
            f"REQUIRE_SERVICES is set but Redis at {settings.REDIS_URL} is unreachable: {problem}", returncode=3
        )
    for tool in ("bwrap", "chromium", "node"):
        if shutil.which(tool) is None:
            pytest.exit(f"REQUIRE_SERVICES is set but {tool} is not installed (make test installs it)", returncode=3)


def redis_problem(url: str) -> str | None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        return str(error)
    return None


def require(condition: bool, reason: str) -> None:
    """Skip locally when an optional service is missing; fail in CI."""
    if condition:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture
def postgres_only():
    """For tests of real concurrency: PostgreSQL's row locks and unique indexes, which SQLite serialises away."""
    from django.db import connection

    require(connection.vendor == "postgresql", "race tests need PostgreSQL (set DATABASE_URL=postgres://...)")


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle and login-failure counters live in the cache: no test inherits another's."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def redis_url() -> str:
    url = settings.REDIS_URL or os.environ.get("REDIS_URL", "")
    require(bool(url), "REDIS_URL is not set")
    problem = redis_problem(url)
    require(problem is None, f"Redis unreachable: {problem}")
    return url


@pytest.fixture
def content(db):
    """The repository's real content, loaded (idempotently) into the test database."""
    from learnpath.content.loader import load_content
    from learnpath.models import Path

    if not Path.objects.filter(slug=DISTILLATION).exists():
        load_content(settings.CONTENT_DIR)
    return Path.objects.get(slug=DISTILLATION)


@pytest.fixture
def make_user(db):
    from learnpath import services

    counter = {"n": 0}

    def make(username: str | None = None, *, timezone: str = "UTC", password: str = "correct-horse-battery-9"):
        counter["n"] += 1
        return services.user_register(
            username=username or f"learner{counter['n']}", password=password, timezone_name=timezone
        )

    return make


@pytest.fixture
def learner(make_user):
    return make_user("ada")


def api_client_for(user):
    """An API client authenticated as ``user``."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def api(learner):
    return api_client_for(learner)


@pytest.fixture
def anon_api():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def enrolled(learner, content):
    from learnpath import services

    services.enrollment_create(user=learner, path=content)
    return content
