"""End to end: a submission row committed -> a real Celery worker grades it -> the verdict is stored.

Starts a worker process (queues default and gpu, concurrency 1) on a scratch SQLite database under a
temporary VAR_DIR, with Redis as the broker when REDIS_URL is set and the filesystem broker otherwise,
then submits the reference solution several times, one after another, and times each until its verdict
is in the database. The first grading starts a sandbox cold; later ones find one pre-started.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 6
# Learners read their feedback before submitting again; the pause lets the next sandbox finish starting.
PAUSE_SECONDS = 2.0


def main(runs: int = RUNS) -> None:
    scratch = tempfile.mkdtemp(prefix="lp-bench-")
    env = {**os.environ, "VAR_DIR": scratch, "DJANGO_SETTINGS_MODULE": "learnpath.settings.dev"}
    env.pop("DATABASE_URL", None)
    os.environ.update(VAR_DIR=scratch, DJANGO_SETTINGS_MODULE="learnpath.settings.dev")
    os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("loadcontent", verbosity=0)

    log = open(Path(scratch) / "worker.log", "w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "learnpath", "worker", "-Q", "default,gpu", "--concurrency", "1",
         "--loglevel", "INFO", "-n", "bench@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        _wait_for(lambda: " ready." in (Path(scratch) / "worker.log").read_text(), 90)
        _measure(runs)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
        log.close()


def _measure(runs: int) -> None:
    from challenges.models import Challenge, Submission
    from challenges.services import submission_create
    from learnpath import services

    user = services.user_register(username="bench", password="a-long-bench-passphrase-1")
    challenge = Challenge.objects.get(slug="distillation-loss")
    code = (ROOT / "content" / "challenges" / "distillation-loss" / "solution.py").read_text()
    latencies = []
    for attempt in range(runs):
        if attempt:
            time.sleep(PAUSE_SECONDS)
        started = time.perf_counter()
        submission = submission_create(user=user, challenge=challenge, code=code)

        def finished(pk=submission.pk):
            return Submission.objects.get(pk=pk).status not in ("queued", "running")

        _wait_for(finished, 120, interval=0.005)
        latencies.append(time.perf_counter() - started)
        final = Submission.objects.get(pk=submission.pk)
        assert final.status == "passed", final.feedback
    broker = "Redis" if os.environ.get("REDIS_URL") else "filesystem broker (50 ms poll)"
    print(
        f"reference solution through a real worker, SQLite, {broker}, CPU, "
        f"{runs} submissions {PAUSE_SECONDS:.0f} s apart"
    )
    print(f"first (cold sandbox):         {latencies[0]:6.3f} s")
    rest = latencies[1:]
    print(f"later (pre-started sandbox):  median {statistics.median(rest):6.3f} s   min {min(rest):6.3f} s   "
          f"max {max(rest):6.3f} s")  # fmt: skip
    print(f"ratio first / later median (same run): {latencies[0] / statistics.median(rest):.1f}x")


def _wait_for(condition, timeout: float, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise TimeoutError(f"gave up after {timeout} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else RUNS)
