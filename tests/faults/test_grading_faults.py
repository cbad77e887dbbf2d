"""Grading through real faults: Redis flushed and restarted, a worker killed with SIGKILL, PostgreSQL restarted.

Each test deploys the project (gunicorn, a Celery worker, beat) on a private PostgreSQL and a private Redis
(tests/fixtures/services.py), submits a burst of right and wrong losses over HTTP, faults one dependency
mid-burst for real while readers poll the API, and then requires that every submission ends with the one
right verdict, that none stays queued or running, that no read during the outage answered a 5xx other than
503 (with Retry-After), and that every learner's pages show what the database stored (tests/fixtures/faults.py).
Heartbeats and mending run every second or two here (``FAST_MENDING``) so that recovery is quick to wait for.
"""

from __future__ import annotations

import time

import pytest

from tests.fixtures.faults import FAST_MENDING, burst, first_running

pytestmark = [pytest.mark.faults, pytest.mark.worker, pytest.mark.django_db]

LEARNERS = 6
SUBMISSIONS = 18
RECOVERY_TIMEOUT = 240


@pytest.fixture
def deployed(make_stack):
    stack = make_stack(env=FAST_MENDING, workers=1)
    stack.start_beat()
    return stack


def test_redis_flushed_and_restarted_mid_burst(deployed, private_redis):
    run = burst(deployed, learners=LEARNERS, submissions=SUBMISSIONS)
    run.wait_until_graded(3, timeout=RECOVERY_TIMEOUT)

    def fault():
        private_redis.flush()  # every queued message, every cache entry and session copy gone at once
        time.sleep(1)
        with private_redis.down():
            time.sleep(3)

    # Submitted while Redis is down: stored, answered 202, graded once it is back.
    run.during_fault(fault, write=lambda: run.submit(2))
    recovery = run.wait_all_final(RECOVERY_TIMEOUT)
    assert run.problems() == []
    assert len(run.expected) == SUBMISSIONS + 2
    # The flush lost the queued messages, and the 202s while it was down sent none: the mender sent them.
    assert "sent again the grading work whose message was lost or unsent" in deployed.logs(200_000)
    print(f"redis: last verdict {recovery:.1f}s after the fault; reads during it: {dict(run.during.statuses)}")


def test_a_worker_killed_mid_grade(deployed):
    run = burst(deployed, learners=LEARNERS, submissions=SUBMISSIONS)
    [worker] = deployed.workers
    victim = first_running(deployed, run, timeout=RECOVERY_TIMEOUT)
    run.during_fault(lambda: deployed.kill_worker(worker))
    deployed.start_worker()  # a replacement (the same host, a new process)
    recovery = run.wait_all_final(RECOVERY_TIMEOUT)
    assert run.problems() == []
    status, runs, *_ = run.rows()[victim]
    assert runs == 2, f"the killed grading was graded {runs} times"
    print(f"worker kill: last verdict {recovery:.1f}s after the kill; reads: {dict(run.during.statuses)}")


def test_postgresql_restarted_mid_burst(deployed, private_postgres):
    run = burst(deployed, learners=LEARNERS, submissions=SUBMISSIONS)
    run.wait_until_graded(3, timeout=RECOVERY_TIMEOUT)

    def fault():
        with private_postgres.down(mode="fast"):
            time.sleep(3)

    # A submission cannot be stored without the database: 503 with Retry-After, or 202 once it is back.
    run.during_fault(fault, write=lambda: run.submit(1, accept=(202, 503)))
    recovery = run.wait_all_final(RECOVERY_TIMEOUT)
    assert run.problems() == []
    assert run.during.statuses[503] > 0, f"the outage was not seen: {dict(run.during.statuses)}"
    print(f"postgres: last verdict {recovery:.1f}s after the restart; reads: {dict(run.during.statuses)}")
