"""Readiness (``GET /api/ready/``) and the workers' heartbeats it reads.

200 when the database, the cache, the broker and a grading worker answer; otherwise 503 with Retry-After,
naming each that does not, within a few seconds even when one hangs. Liveness (``/api/health/``) stays a
query-free 200 through all of it. The checks run against real servers: a Redis of the test's own that is
stopped, a closed port, a listener that accepts and never answers, a real worker process.
"""

from __future__ import annotations

import socket
import threading
import time
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.utils import timezone

from workers.models import WorkerHeartbeat
from workers.services import worker_heartbeat_record

READY = "/api/ready/"
CHECK_NAMES = ["database", "cache", "broker", "workers"]
# A real worker beats this often in these tests, and runs no warm sandbox (nothing here grades).
QUICK_WORKER = {"WORKER_HEARTBEAT_SECONDS": "0.3", "GRADING_POOL_SIZE": "0"}
# Each check has 2 s; the answer must come well within what a load balancer's probe allows.
ANSWER_WITHIN_SECONDS = 3.5


def closed_port() -> int:
    """A port nobody listens on (the kernel's pick, released again)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_port():
    """A port that accepts connections (the kernel completes the handshake) and never answers a byte."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)
        yield server.getsockname()[1]


@pytest.fixture
def broker_settings(monkeypatch):
    """Change the Celery app's broker settings for this test (restored afterwards)."""
    from learnpath.celery_app import app

    conf = app.conf
    assert conf.broker_url  # the app reads its settings lazily: load them now, so that the patch restores them

    def change(**values) -> None:
        for key, value in values.items():
            monkeypatch.setitem(conf, key, value)

    return change


def beat(*, name: str = "gpu@host-a", queues: list[str] | None = None, seen_ago: float = 0) -> WorkerHeartbeat:
    from django.conf import settings

    started = timezone.now() - timedelta(minutes=5)
    worker_heartbeat_record(name=name, queues=queues or [settings.CELERY_GRADING_QUEUE], pid=4242, started_at=started)
    if seen_ago:
        WorkerHeartbeat.objects.filter(name=name).update(last_seen_at=timezone.now() - timedelta(seconds=seen_ago))
    return WorkerHeartbeat.objects.get(name=name)


@pytest.fixture
def grading_worker_seen(transactional_db):
    """A fresh heartbeat from a worker on the grading queue. Committed (transactional_db): the checks read it
    on connections of their own."""
    return beat()


def get_ready(client):
    started = time.monotonic()
    response = client.get(READY)
    return response, time.monotonic() - started


def assert_unavailable(response, elapsed: float, failing: list[str]) -> dict:
    body = response.json()
    assert response.status_code == 503, body
    assert body["status"] == "unavailable"
    assert body["failing"] == failing, body
    assert response["Retry-After"] == "10"
    assert response["Cache-Control"] == "no-store"
    assert list(body["checks"]) == CHECK_NAMES
    for name, check in body["checks"].items():
        assert check["ok"] is (name not in failing), body
        assert check["error"] if name in failing else "error" not in check
    assert elapsed < ANSWER_WITHIN_SECONDS, f"answered after {elapsed:.1f} s"
    return body


def test_ready_when_every_dependency_answers(client, grading_worker_seen):
    response, _ = get_ready(client)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ready"
    assert list(body["checks"]) == CHECK_NAMES
    assert all(check["ok"] and check["ms"] >= 0 and "error" not in check for check in body["checks"].values())
    assert response["Cache-Control"] == "no-store"
    assert not response.has_header("Retry-After")
    assert not response.cookies  # no session


def test_ready_ignores_credentials(client, grading_worker_seen):
    assert client.get(READY, HTTP_AUTHORIZATION="Token not-a-token").status_code == 200


@pytest.mark.parametrize(
    ("heartbeat", "says"),
    [
        (None, "no worker consuming the 'gpu' queue has reported in the last 60 s"),
        ({"seen_ago": 61}, "no worker consuming the 'gpu' queue has reported in the last 60 s"),
        ({"queues": ["default"]}, "1 other worker(s) did, consuming default"),
    ],
    ids=["no heartbeat", "stale heartbeat", "only another queue"],
)
def test_not_ready_without_a_grading_worker(client, transactional_db, settings, heartbeat, says):
    settings.CELERY_GRADING_QUEUE = "gpu"
    if heartbeat is not None:
        beat(**heartbeat)
    body = assert_unavailable(*get_ready(client), failing=["workers"])
    assert says in body["checks"]["workers"]["error"]


@pytest.mark.worker
def test_a_real_workers_heartbeat_makes_it_ready_and_goes_with_a_clean_shutdown(start_worker, client):
    worker = start_worker(environment=QUICK_WORKER)
    name = worker.name.replace("%h", socket.gethostname())
    row = wait_for(lambda: WorkerHeartbeat.objects.filter(name=name).first(), what="the worker's first beat")
    assert row.queues == [worker.queue]
    assert row.pid == worker.process.pid  # the main process, not a pool child
    assert row.started_at <= row.last_seen_at
    assert timezone.now() - row.started_at < timedelta(minutes=2)
    wait_for(lambda: WorkerHeartbeat.objects.get(name=name).last_seen_at > row.last_seen_at, what="a second beat")
    assert WorkerHeartbeat.objects.get(name=name).started_at == row.started_at  # the same run

    response, _ = get_ready(client)
    assert response.status_code == 200, response.json()

    worker.stop(timeout=60)  # SIGTERM: a warm shutdown (slow to finish with the filesystem broker)
    assert worker.process.returncode == 0, worker.log()[-3000:]
    assert not WorkerHeartbeat.objects.filter(name=name).exists(), worker.log()[-3000:]
    assert_unavailable(*get_ready(client), failing=["workers"])


@pytest.mark.worker
def test_a_worker_outlives_a_database_error_in_its_heartbeat_and_a_killed_ones_row_goes_stale(start_worker):
    from workers.selectors import live_workers

    worker = start_worker(environment=QUICK_WORKER)
    name = worker.name.replace("%h", socket.gethostname())
    wait_for(lambda: WorkerHeartbeat.objects.filter(name=name).exists(), what="the worker's first beat")
    table = WorkerHeartbeat._meta.db_table
    quoted, away = connection.ops.quote_name(table), connection.ops.quote_name(f"{table}_away")
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {quoted} RENAME TO {away}")  # every beat now fails in the database
    try:
        wait_for(lambda: "worker heartbeat: not written" in worker.log(), what="the failed beat's warning")
        time.sleep(1.5)  # several more beats fail
        assert worker.process.poll() is None, worker.log()[-3000:]
        assert worker.log().count("worker heartbeat: not written") == 1, "one warning per outage"
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {away} RENAME TO {quoted}")
    back = timezone.now()
    wait_for(lambda: WorkerHeartbeat.objects.get(name=name).last_seen_at > back, what="a beat after the outage")
    # The beat logs that it is back after its row is written (and its connection closed): wait for the line.
    wait_for(lambda: "worker heartbeat: written again" in worker.log(), what="the beat's recovery line")
    assert worker.process.poll() is None

    worker.kill()  # SIGKILL: no shutdown, the row stays and goes stale
    killed = timezone.now()
    assert [w.name for w in live_workers(queue=worker.queue, within_seconds=60)] == [name]
    assert live_workers(queue=worker.queue, within_seconds=1, now=killed + timedelta(seconds=2)) == []


@pytest.mark.faults
def test_not_ready_when_the_cache_server_is_down(client, grading_worker_seen, settings, private_redis):
    settings.CACHES = {"default": {"BACKEND": "learnpath.redis_cache.RedisCache", "LOCATION": private_redis.url()}}
    response, _ = get_ready(client)
    assert response.status_code == 200, response.json()
    with private_redis.down():
        body = assert_unavailable(*get_ready(client), failing=["cache"])
        assert body["checks"]["cache"]["error"].startswith("the cache server did not answer")
        assert "127.0.0.1" not in str(body), "a public answer names no address"
        assert client.get("/api/health/").status_code == 200
    response, _ = get_ready(client)
    assert response.status_code == 200, response.json()


@pytest.mark.faults
def test_cache_answers_is_a_real_round_trip(settings, private_redis):
    from learnpath.health import cache_answers

    settings.CACHES = {"default": {"BACKEND": "learnpath.redis_cache.RedisCache", "LOCATION": private_redis.url()}}
    assert cache_answers()
    with private_redis.down():
        assert not cache_answers()
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert cache_answers()


def test_not_ready_when_the_broker_is_unreachable(client, grading_worker_seen, broker_settings):
    broker_settings(broker_url=f"redis://127.0.0.1:{closed_port()}/0")
    body = assert_unavailable(*get_ready(client), failing=["broker"])
    assert body["checks"]["broker"]["error"].startswith("the Celery broker could not be reached")


def test_not_ready_when_the_filesystem_brokers_folder_is_missing(
    client, grading_worker_seen, broker_settings, tmp_path
):
    options = {
        "data_folder_in": str(tmp_path / "queue"),
        "data_folder_out": str(tmp_path / "queue"),
        "processed_folder": str(tmp_path / "processed"),
    }
    (tmp_path / "queue").mkdir()
    broker_settings(broker_url="filesystem://", broker_transport_options=options)
    body = assert_unavailable(*get_ready(client), failing=["broker"])
    assert "processed_folder" in body["checks"]["broker"]["error"]
    (tmp_path / "processed").mkdir()
    assert client.get(READY).status_code == 200


def test_not_ready_when_the_database_cannot_be_reached(client, grading_worker_seen, monkeypatch, tmp_path):
    # The checks open connections of their own from these settings; the test's connection is already open.
    database = connections.settings["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        monkeypatch.setitem(database, "NAME", str(tmp_path / "no-such-folder" / "db.sqlite3"))
    else:
        monkeypatch.setitem(database, "HOST", "127.0.0.1")
        monkeypatch.setitem(database, "PORT", str(closed_port()))
    body = assert_unavailable(*get_ready(client), failing=["database", "workers"])
    assert body["checks"]["database"]["error"].startswith("the database did not answer a query (OperationalError")
    assert client.get("/api/health/").status_code == 200


def test_an_answer_within_seconds_when_dependencies_hang(
    client, grading_worker_seen, settings, broker_settings, silent_port
):
    settings.CACHES = {
        "default": {"BACKEND": "learnpath.redis_cache.RedisCache", "LOCATION": f"redis://127.0.0.1:{silent_port}/0"}
    }
    broker_settings(broker_url=f"redis://127.0.0.1:{silent_port}/0")
    for _ in range(3):  # probe after probe, each answers in time, and a hung check is not started again
        assert_unavailable(*get_ready(client), failing=["cache", "broker"])
        hung = [thread.name for thread in threading.enumerate() if thread.name.startswith("ready-")]
        assert len(hung) == len(set(hung)), hung
    started = time.monotonic()
    assert client.get("/api/health/").status_code == 200
    assert time.monotonic() - started < 1


def test_health_stays_a_query_free_liveness_check(client, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/api/health/")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_the_schema_documents_both_answers(anon_api):
    schema = anon_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/ready/"]["get"]
    assert set(operation["responses"]) == {"200", "503"}
    assert "Retry-After" in operation["responses"]["503"]["headers"]
    unavailable = operation["responses"]["503"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(schema["components"]["schemas"][unavailable]["properties"]) == {"status", "failing", "checks"}


def test_worker_alive_command(transactional_db):
    host = socket.gethostname()
    with pytest.raises(CommandError, match="no worker on this host"):
        call_command("worker_alive")
    beat(name=f"gpu@{host}", seen_ago=120)
    with pytest.raises(CommandError, match="last seen"):
        call_command("worker_alive")
    beat(name=f"gpu@{host}")
    call_command("worker_alive")
    beat(name="gpu@another-host")
    call_command("worker_alive", "--name", "gpu@another-host")


def wait_for(predicate, *, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no {what} after {timeout} s")
