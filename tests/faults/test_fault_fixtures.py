"""The fault-test fixtures themselves: private servers really go down and come back, and a stack grades.

Timings go to stdout (run with ``-s`` to see them).
"""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest
import redis

from tests.fixtures.services import CHALLENGE, alive, descendants, port_open

pytestmark = pytest.mark.faults


def test_private_redis_restarts_on_its_port_and_is_empty_after_a_flush(private_redis):
    port = private_redis.port
    client = private_redis.client()
    client.set("kept", "1")
    assert client.get("kept") == b"1"

    started = time.monotonic()
    with private_redis.down():
        assert not private_redis.ping()
        assert not port_open(port)
        with pytest.raises(redis.ConnectionError):
            client.get("kept")
    restart = time.monotonic() - started
    assert private_redis.port == port and private_redis.url() == f"redis://127.0.0.1:{port}/0"
    assert private_redis.ping()
    assert client.get("kept") is None, "no persistence: a restarted Redis comes back empty"

    client.set("a", "1")
    private_redis.client(db=1).set("b", "2")
    private_redis.flush()
    assert client.dbsize() == 0 and private_redis.client(db=1).dbsize() == 0

    private_redis.kill()
    assert not private_redis.ping()
    private_redis.start()
    assert private_redis.port == port and private_redis.ping()
    print(f"\nredis: down+up {restart:.3f}s")


def test_private_postgres_stops_refusing_connections_and_starts_with_its_data(private_postgres):
    name = f"fixture_check_{int(time.time() * 1000)}"
    private_postgres.create_database(name)
    with private_postgres.connect(name, autocommit=True) as connection:
        connection.execute("CREATE TABLE t (x int)")
        connection.execute("INSERT INTO t VALUES (1), (2)")
    held = private_postgres.connect(name, autocommit=True)

    timings = {}
    for mode in ("fast", "immediate", "kill"):
        started = time.monotonic()
        with private_postgres.down(mode=mode):
            assert not port_open(private_postgres.port)
            with pytest.raises(psycopg.OperationalError):
                private_postgres.connect(name)
        timings[mode] = time.monotonic() - started
        with private_postgres.connect(name) as connection:
            assert connection.execute("SELECT sum(x) FROM t").fetchone()[0] == 3

    # A connection from before the restart is broken, as a web process's would be.
    with pytest.raises(psycopg.OperationalError):
        held.execute("SELECT 1")
    held.close()
    private_postgres.drop_database(name)
    print(f"\npostgres: {private_postgres.timings}, down+up by mode {timings}")


def test_stack_grades_a_correct_submission_end_to_end(make_stack, private_postgres, reference_code):
    started = time.monotonic()
    stack = make_stack(workers=1, env={"FAULT_TEST_MARK": "on"})
    up = time.monotonic() - started
    for process in stack.processes():
        environ = Path(f"/proc/{process.process.pid}/environ").read_bytes().split(b"\0")
        assert b"FAULT_TEST_MARK=on" in environ and b"DJANGO_SETTINGS_MODULE=learnpath.settings.production" in environ

    learner = stack.learner()
    today = learner.today()
    assert today.status_code == 200, today.text

    started = time.monotonic()
    response = learner.submit(reference_code)
    assert response.status_code == 202, response.text
    submission_id = response.json()["id"]
    verdict = learner.wait_for_verdict(submission_id, timeout=120)
    graded = time.monotonic() - started
    assert verdict["status"] == "passed", f"{verdict}\n{stack.logs()}"
    assert verdict["score"] == 1.0
    assert verdict["worker_host"].startswith("worker1@")

    again = learner.submission(submission_id)
    assert again.status_code == 200 and again.json()["status"] == "passed"
    assert learner.get(f"/api/challenges/{CHALLENGE}/").json()["status"] == "passed"
    assert stack.query("SELECT status FROM challenges_submission WHERE id = %s", [submission_id]) == [("passed",)]

    # kill_worker takes the whole worker with it, sandboxes (other sessions, under bubblewrap) included.
    worker = stack.workers[0]
    below = descendants(worker.process.pid)
    assert below, "a grading worker keeps a pool process and a warm sandbox zygote"
    stack.kill_worker(worker)
    assert not worker.alive and not [pid for pid in below if alive(pid)]
    print(
        f"\nstack: prepared template {private_postgres.timings}; stack timings {stack.timings}; "
        f"up {up:.2f}s; submit -> passed {graded:.2f}s"
    )
