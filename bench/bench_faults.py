"""Recovery from faults during a grading burst: a Redis flush and restart, a worker SIGKILLed, PostgreSQL restarted.

For each fault, the project is deployed as in production (gunicorn with 2 sync workers, one Celery worker on
the grading and default queues, beat) on a private PostgreSQL and a private Redis, ``BENCH_FAULT_SUBMISSIONS``
(default 60) submissions of right and wrong losses are made over HTTP by a dozen learners, and the fault is
made once a few verdicts are in while readers poll the API. Printed per fault: how long after the fault ended
the last verdict came, how many reads answered what during the outage (503 is the honest answer when the
database is down; anything else 5xx would be a bug), and whether every verdict was right and shown.

Heartbeats and mending run at the settings tests use (tests/fixtures/faults.py ``FAST_MENDING``); with the
production defaults (a heartbeat every 15 s, a worker lost after 60 s, mending every 30 s) a lost message or
worker waits up to those intervals longer. Run by hand: ``.venv/bin/python -m bench bench_faults``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.stacks import Services, private_services, stack_from

LEARNERS = 12
RECOVERY_TIMEOUT = 600


def _scenario(label: str, services: Services, submissions: int) -> None:
    from tests.fixtures.faults import FAST_MENDING, burst, first_running

    postgres, redis = services.postgres, services.redis
    with stack_from(services, env=dict(FAST_MENDING)) as stack:
        started = time.monotonic()
        run = burst(stack, learners=LEARNERS, submissions=submissions)
        if label == "worker SIGKILLed mid-grade":
            first_running(stack, run, timeout=RECOVERY_TIMEOUT)
            run.during_fault(lambda: stack.kill_worker(stack.workers[0]))
            stack.start_worker()
        else:
            run.wait_until_graded(5, timeout=RECOVERY_TIMEOUT)
            if label.startswith("Redis"):

                def fault():
                    redis.flush()
                    time.sleep(1)
                    with redis.down():
                        time.sleep(5)

                run.during_fault(fault, write=lambda: run.submit(2))
            else:

                def fault():
                    with postgres.down(mode="fast"):
                        time.sleep(5)

                run.during_fault(fault, write=lambda: run.submit(1, accept=(202, 503)))
        outage = run.fault_ended - run.fault_started
        recovery = run.wait_all_final(RECOVERY_TIMEOUT)
        whole = time.monotonic() - started
        problems = run.problems()
        runs = [grading_runs for _, grading_runs, *_ in run.rows().values()]
        statuses = ", ".join(f"{status}: {count}" for status, count in sorted(run.during.statuses.items()))
        print(
            f"  {label:<34} {len(run.expected):>4} submissions, outage {outage:4.1f} s, last verdict "
            f"{recovery:5.1f} s after it ({whole:5.1f} s for the burst); reads during it: {statuses or 'none'}; "
            f"5xx other than 503: {run.during.server_errors}; graded twice: {sum(1 for n in runs if n > 1)}; "
            f"{'all verdicts right and shown' if not problems else 'PROBLEMS: ' + '; '.join(problems[:3])}"
        )


def main(submissions: int | None = None) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learnpath.settings.test")
    django.setup()
    submissions = submissions or int(os.environ.get("BENCH_FAULT_SUBMISSIONS", "60"))
    print(f"Grading through faults ({submissions} submissions a burst, {LEARNERS} learners, 1 grading worker)")
    with private_services("learnpath-bench-faults-") as services:
        for label in ("Redis flushed, then down 5 s", "worker SIGKILLed mid-grade", "PostgreSQL down 5 s (fast)"):
            _scenario(label, services, submissions)


if __name__ == "__main__":
    main()
