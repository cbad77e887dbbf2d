"""The deployed project on private services, for the benchmarks that need it whole (faults, a cohort's burst).

``private_services()`` starts a private PostgreSQL and Redis and prepares a template database once (migrated,
content loaded); ``stack_from()`` deploys a fresh copy of it as in production (gunicorn, one Celery worker on the
grading queue, beat) and takes it all down afterwards. Nothing touches the machine's shared services.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

TEMPLATE = "bench_prepared"


@dataclass
class Services:
    postgres: object
    redis: object
    directory: Path


@contextlib.contextmanager
def private_services(prefix: str) -> Iterator[Services]:
    from tests.fixtures.services import PrivatePostgres, PrivateRedis, Stack

    directory = Path(tempfile.mkdtemp(prefix=prefix))
    postgres, redis = PrivatePostgres(), PrivateRedis()
    try:
        postgres.start()
        redis.start()
        prepared = postgres.create_database(TEMPLATE)
        Stack(database_url=prepared, redis_url=redis.url(), directory=directory / "prepare").prepare()
        yield Services(postgres=postgres, redis=redis, directory=directory)
    finally:
        redis.close()
        postgres.close()
        with contextlib.suppress(OSError):
            shutil.rmtree(directory)


@contextlib.contextmanager
def stack_from(services: Services, *, env: dict) -> Iterator[object]:
    """A stack on a fresh copy of the prepared database and a flushed Redis, with one worker and beat started."""
    from tests.fixtures.services import Stack

    services.redis.flush()
    name = f"bench_{uuid.uuid4().hex[:10]}"
    url = services.postgres.create_database(name, template=TEMPLATE)
    stack = Stack(database_url=url, redis_url=services.redis.url(), directory=services.directory / name, env=env)
    stack.database_name = name
    try:
        stack.start(workers=1)
        stack.start_beat()
        yield stack
    finally:
        stack.close(timeout=3)
        with contextlib.suppress(Exception):
            services.postgres.drop_database(name)
