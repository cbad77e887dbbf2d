"""``/api/ready/`` on a deployment as in production (gunicorn, a Celery worker, a private PostgreSQL and Redis)
while its servers really go down: it names what failed within seconds, and says ready again once they are back;
``/api/health/`` answers 200 throughout. The worker's heartbeat survives the database's outage and goes with a
clean shutdown.
"""

from __future__ import annotations

import time

import pytest

pytestmark = [pytest.mark.faults, pytest.mark.worker]

QUICK_WORKER = {"WORKER_HEARTBEAT_SECONDS": "0.5", "GRADING_POOL_SIZE": "0"}
ANSWER_WITHIN_SECONDS = 5


def ready(stack):
    import requests

    started = time.monotonic()
    response = requests.get(stack.url("/api/ready/"), timeout=30)
    return response, time.monotonic() - started


def assert_failing(stack, failing: list[str]) -> None:
    response, elapsed = ready(stack)
    assert response.status_code == 503, f"{response.text}\n{stack.logs()}"
    assert response.json()["failing"] == failing, response.text
    assert response.headers["Retry-After"] and response.headers["Cache-Control"] == "no-store"
    assert elapsed < ANSWER_WITHIN_SECONDS, f"answered after {elapsed:.1f} s"
    assert stack_health(stack) == 200


def assert_ready(stack) -> None:
    response, elapsed = ready(stack)
    assert response.status_code == 200, f"{response.text}\n{stack.logs()}"
    assert response.json()["status"] == "ready"
    assert elapsed < ANSWER_WITHIN_SECONDS


def stack_health(stack) -> int:
    import requests

    return requests.get(stack.url("/api/health/"), timeout=5).status_code


def wait_until_ready(stack, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response, _ = ready(stack)
        if response.status_code == 200:
            return
        time.sleep(0.2)
    raise AssertionError(f"not ready after {timeout} s: {response.text}\n{stack.logs()}")


def test_ready_follows_a_deployment_through_outages(make_stack, private_postgres, private_redis):
    stack = make_stack(env=QUICK_WORKER)
    assert_failing(stack, ["workers"])  # no worker yet

    worker = stack.start_worker()
    wait_until_ready(stack)

    with private_redis.down():  # the cache and the broker both
        assert_failing(stack, ["cache", "broker"])
    assert_ready(stack)  # at once: no connection from before the outage is used again

    with private_postgres.down():
        assert_failing(stack, ["database", "workers"])
        time.sleep(1.5)  # several beats fail
        assert worker.alive, worker.log()[-4000:]
    # The web processes' connections from before the restart are dead: none of them fails the next probe.
    assert_ready(stack)
    assert_ready(stack)
    deadline = time.monotonic() + 15
    while "worker heartbeat: written again" not in worker.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "worker heartbeat: written again" in worker.log(), worker.log()[-4000:]
    assert worker.log().count("worker heartbeat: not written") == 1, "one warning per outage"
    assert worker.alive

    stack.stop_worker(worker, timeout=60)  # SIGTERM: a warm shutdown
    assert worker.process.returncode == 0, worker.log()[-4000:]
    assert stack.query("SELECT count(*) FROM workers_workerheartbeat") == [(0,)]
    assert_failing(stack, ["workers"])  # at once, not a minute later
