"""Submit -> verdict through the API, Redis and real Celery workers: at rest, and a burst drained by 1 and 2
worker processes; then ``manage.py regrade`` of the stored submissions.

Each submission is a POST to ``/api/challenges/distillation-loss/submissions/`` (DRF's test client, in this
process) that commits the row and queues the grading task on Redis; a real ``celery worker`` (prefork,
``--concurrency`` 1 or 2, warm sandbox pool on) grades it and stores the verdict. Latency runs from just
before the POST to the verdict's ``finished_at``. The burst submits one correct challenge-1 solution from
each of ``BENCH_BURST`` learners (default 200) as fast as the API takes them; the drain rate is gradings per
second from the first submission to the last verdict. PostgreSQL and Redis are used when reachable (a
scratch database ``lp_bench_pipeline`` and Redis database 14, on a queue of this run's own); otherwise
SQLite and the filesystem broker. Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import io
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import percentile

ROOT = Path(__file__).resolve().parents[1]
SLUG = "distillation-loss"
AT_REST = 10
PAUSE_SECONDS = 0.5
PG_URL = "postgres://postgres@127.0.0.1:5432/lp_bench_pipeline"
REDIS_URL = "redis://127.0.0.1:6379/14"


def _services() -> tuple[str | None, str | None]:
    database = redis = None
    try:
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True, connect_timeout=2) as c:
            c.execute("DROP DATABASE IF EXISTS lp_bench_pipeline")
            c.execute("CREATE DATABASE lp_bench_pipeline")
        database = PG_URL
    except Exception as exc:  # noqa: BLE001 - no PostgreSQL here: SQLite
        print(f"(PostgreSQL unavailable: {exc}; using SQLite)")
    try:
        import redis as redis_lib

        client = redis_lib.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        client.ping()
        client.flushdb()
        redis = REDIS_URL
    except Exception as exc:  # noqa: BLE001
        print(f"(Redis unavailable: {exc}; using the filesystem broker)")
    return database, redis


def main() -> None:
    burst = int(os.environ.get("BENCH_BURST", "200"))
    scratch = tempfile.mkdtemp(prefix="lp-bench-pipeline-")
    database, redis = _services()
    queue = f"bench-grading-{os.getpid()}"
    env = {
        **os.environ,
        "VAR_DIR": scratch,
        "DJANGO_SETTINGS_MODULE": "learnpath.settings.test",
        "GRADING_QUEUE": queue,
    }
    for key, value in (("DATABASE_URL", database), ("REDIS_URL", redis)):
        if value:
            env[key] = value
        else:
            env.pop(key, None)
    os.environ.clear()
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("loadcontent", verbosity=0)
    print(
        f"database: {'PostgreSQL' if database else 'SQLite'}; broker: {'Redis' if redis else 'filesystem'}; "
        f"challenge 1 ({SLUG}) reference solution; CPU"
    )
    learners = _learners(burst + 1)
    rows = []
    for concurrency in (1, 2):
        with _worker(env, scratch, queue, concurrency):
            rest = _at_rest(learners[0], AT_REST)
            drained = _burst(learners[1:], concurrency)
        rows.append((concurrency, rest, drained))
    print()
    print(f"| worker processes | at rest p50 | at rest p95 | burst of {burst}: p50 | p95 | drain rate |")
    print("| --- | --- | --- | --- | --- | --- |")
    for concurrency, rest, (latencies, rate) in rows:
        print(
            f"| {concurrency} | {statistics.median(rest) * 1000:.0f} ms | {percentile(rest, 0.95) * 1000:.0f} ms | "
            f"{statistics.median(latencies):.2f} s | {percentile(latencies, 0.95):.2f} s | {rate:.1f} gradings/s |"
        )
    _regrade()


def _learners(count: int) -> list:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    User = get_user_model()
    password = make_password("a-long-bench-passphrase-1")
    User.objects.bulk_create([User(username=f"bench-{i:05d}", password=password) for i in range(count)], 1000)
    return list(User.objects.filter(username__startswith="bench-").order_by("username"))


class _worker:
    """A real Celery worker on this run's own queue, warm pool on, until the block ends."""

    def __init__(self, env: dict[str, str], scratch: str, queue: str, concurrency: int) -> None:
        self.log_path = Path(scratch) / f"worker-{concurrency}.log"
        self.command = [
            sys.executable, "-m", "celery", "-A", "learnpath", "worker", "-Q", queue, "--concurrency",
            str(concurrency), "--loglevel", "INFO", "-n", f"{queue}-{concurrency}@%h", "--without-gossip",
            "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        self.env = env

    def __enter__(self):
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        _wait_for(lambda: " ready." in self.log_path.read_text(), 120)
        return self

    def __exit__(self, *exc_info) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.log.close()


def _submit(user) -> tuple[int, float]:
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    code = (ROOT / "content" / "challenges" / SLUG / "solution.py").read_text()
    started = time.time()
    response = client.post(f"/api/challenges/{SLUG}/submissions/", {"code": code}, format="json", HTTP_HOST="localhost")
    assert response.status_code == 202, (response.status_code, response.content[:300])
    return response.json()["id"], started


def _finished(ids: list[int]) -> dict[int, tuple[str, float]]:
    from challenges.models import Submission

    rows = Submission.objects.filter(pk__in=ids, finished_at__isnull=False).values_list("pk", "status", "finished_at")
    return {pk: (status, finished.timestamp()) for pk, status, finished in rows}


def _at_rest(user, runs: int) -> list[float]:
    """One submission at a time, each after the previous verdict (the first warms the worker's pool)."""
    latencies = []
    for attempt in range(runs + 1):
        pk, started = _submit(user)
        _wait_for(lambda pk=pk: pk in _finished([pk]), 120, interval=0.005)
        status, finished = _finished([pk])[pk]
        assert status == "passed", status
        if attempt:
            latencies.append(finished - started)
        time.sleep(PAUSE_SECONDS)
    return latencies


def _burst(users: list, concurrency: int) -> tuple[list[float], float]:
    submitted = dict(_submit(user) for user in users)
    ids = list(submitted)
    _wait_for(lambda: len(_finished(ids)) == len(ids), 60 + 5 * len(ids), interval=0.05)
    done = _finished(ids)
    statuses = {status for status, _ in done.values()}
    assert statuses == {"passed"}, statuses
    latencies = [done[pk][1] - submitted[pk] for pk in ids]
    span = max(f for _, f in done.values()) - min(submitted.values())
    return latencies, len(ids) / span


def _regrade() -> None:
    """Regrade every stored submission of challenge 1 (both bursts and the at-rest runs), in this process."""
    from django.core.management import call_command

    out = io.StringIO()
    call_command("regrade", SLUG, "--all", stdout=out)
    print("\n`manage.py regrade " + SLUG + " --all`: " + out.getvalue().strip().splitlines()[-1])


def _wait_for(condition, timeout: float, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise TimeoutError(f"gave up after {timeout} s")


if __name__ == "__main__":
    main()
