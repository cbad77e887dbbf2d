"""A cohort's burst on the graders, with and without a flood: time to verdict, the wait estimate's error, throughput.

The project is deployed as in production (gunicorn, one Celery worker on the grading queue, beat) on a private
PostgreSQL and Redis, with the production throttles and caps: 6 submissions and 12 example runs a minute per
account, 3 submissions in flight per account, 12 gradings in flight and 30 new accounts a day per client network.
Each honest learner connects from a loopback address on a /24 of their own; the flood's accounts share one.
``BENCH_COHORT_LEARNERS`` honest learners (default 100) each submit one correct solution within
``BENCH_COHORT_SECONDS`` (default 60), alternating challenge 1 (the distillation loss) and ``train-student``.
In the second run one person with ``BENCH_FLOOD_ACCOUNTS`` accounts (default 20) floods the graders at the
allowed rate: every account keeps three submissions and two example runs of code that sleeps until the wall
clock stops it in flight, topping them up as they end (as far as its network's cap lets it), and the fair
order (``challenges.scheduler``) gives its network the turns of one learner.

Printed per run: the honest learners' time from submit to verdict (p50, p95, max) and their own grading time
per challenge; how many flood gradings started while an honest submission waited (the fair share promises
none: an honest submission waits for the grading running when it arrived, the honest work ahead of it, then
its own); the wait estimate the 202 answer gave against the real time to verdict (the median ratio, and how many were
within a factor of two); and gradings finished per second, flood included. Run by hand:
``.venv/bin/python -m bench bench_cohort``.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.stacks import private_services, stack_from

LOSS, TRAINING = "distillation-loss", "train-student"
SLEEPER = "import time\n\ndef distillation_loss(*args, **kwargs):\n    time.sleep(600)\n"
TIMEOUT = 1800


def _solution(slug: str) -> str:
    return (Path(__file__).resolve().parents[1] / "content" / "challenges" / slug / "solution.py").read_text()


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


class Flood:
    """One person's accounts keeping their submissions and example runs in flight, until stopped."""

    def __init__(self, stack, accounts: int) -> None:
        # One person: every account from one client network (127.200.0.0/24).
        self.learners = [stack.learner(source_address=f"127.200.0.{n + 1}") for n in range(accounts)]
        self.stop = threading.Event()
        self.accepted = 0
        self.threads = [threading.Thread(target=self._run, args=(learner,), daemon=True) for learner in self.learners]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def _run(self, learner) -> None:
        while not self.stop.is_set():
            for path in (f"/api/challenges/{LOSS}/submissions/", f"/api/challenges/{LOSS}/try/"):
                with contextlib.suppress(Exception):
                    if learner.post(path, {"code": SLEEPER}, timeout=10).status_code == 202:
                        self.accepted += 1
            self.stop.wait(0.5)

    def end(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(15)


def _run(stack, *, learners: int, seconds: float, flood_accounts: int) -> None:
    # Each honest learner on a client network of their own (127.1.0.0/24, 127.1.1.0/24, ...).
    honest = [stack.learner(source_address=f"127.{1 + i // 250}.{i % 250}.1") for i in range(learners)]
    flood = Flood(stack, flood_accounts) if flood_accounts else None
    if flood:
        flood.start()
        time.sleep(5)  # the flood is under way before the cohort arrives
    submitted: dict[int, tuple] = {}  # id -> (challenge, estimate at submit, position at submit)
    lock = threading.Lock()
    began = time.time()

    def arrive(index: int, learner) -> None:
        time.sleep(seconds * index / max(1, learners - 1))
        slug = LOSS if index % 2 == 0 else TRAINING
        response = learner.post(f"/api/challenges/{slug}/submissions/", {"code": SOLUTIONS[slug]}, timeout=60)
        assert response.status_code == 202, f"{response.status_code} {response.text[:300]}"
        data = response.json()
        with lock:
            submitted[data["id"]] = (slug, data["estimated_wait_seconds"], data["queue_position"])

    threads = [threading.Thread(target=arrive, args=(i, learner)) for i, learner in enumerate(honest)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    deadline = time.monotonic() + TIMEOUT
    while True:
        rows = stack.query(
            "SELECT id, status, EXTRACT(EPOCH FROM created_at), EXTRACT(EPOCH FROM started_at), "
            "EXTRACT(EPOCH FROM finished_at) FROM challenges_submission WHERE id = ANY(%s)",
            (list(submitted),),
        )
        if all(row[1] not in ("queued", "running") for row in rows):
            break
        assert time.monotonic() < deadline, f"honest submissions still pending after {TIMEOUT}s\n{stack.logs()}"
        time.sleep(1)
    ended = time.time()
    if flood:
        flood.end()
    every = stack.query(
        "SELECT 's' || id, EXTRACT(EPOCH FROM started_at), EXTRACT(EPOCH FROM finished_at) FROM challenges_submission "
        "WHERE started_at IS NOT NULL UNION ALL SELECT 'e' || id, EXTRACT(EPOCH FROM started_at), "
        "EXTRACT(EPOCH FROM finished_at) FROM challenges_examplerun WHERE started_at IS NOT NULL"
    )
    honest_keys = {f"s{pk}" for pk in submitted}
    others = [(float(s), float(f) if f is not None else ended) for key, s, f in every if key not in honest_keys]
    finished_in_run = sum(1 for _, s, f in every if f is not None and began <= float(f) <= ended)
    label = f"with {flood_accounts} flood accounts" if flood else "without a flood"
    wrong = [row for row in rows if row[1] != "passed"]
    print(f"  {label}: {len(rows)} honest submissions over {seconds:.0f} s"
          f"{f', {flood.accepted} flood gradings accepted' if flood else ''}; not passed: {len(wrong)}")  # fmt: skip
    overtaken = 0
    for slug in (LOSS, TRAINING):
        mine = [row for row in rows if submitted[row[0]][0] == slug]
        to_verdict = [float(f) - float(c) for _, _, c, _, f in mine]
        own = [float(f) - float(s) for _, _, _, s, f in mine]
        for _, _, created, started, _ in mine:
            # The fair share: no flood grading starts while an honest submission waits (one running when it
            # arrived may finish first).
            overtaken += sum(1 for s, _ in others if float(created) < s < float(started))
        print(
            f"    {slug:<18} to verdict p50 {statistics.median(to_verdict):6.1f} s, p95 "
            f"{_percentile(to_verdict, 0.95):6.1f} s, max {max(to_verdict):6.1f} s; its own grading p50 "
            f"{statistics.median(own):5.1f} s"
        )
    if flood:
        print(f"    flood gradings started while an honest submission waited: {overtaken}")
    ratios = []
    for pk, _, created, _, finished in sorted(rows, key=lambda row: float(row[2])):
        _, estimate, position = submitted[pk]
        real = float(finished) - float(created)
        if os.environ.get("BENCH_COHORT_DETAIL"):
            print(f"      #{pk}: place {position}, estimate {estimate}, real {real:.1f} s")
        if estimate:
            ratios.append(estimate / max(0.5, real))
    if ratios:
        within = sum(1 for ratio in ratios if 0.5 <= ratio <= 2.0)
        print(
            f"    estimate / real time to verdict: median {statistics.median(ratios):.2f}, p5 "
            f"{_percentile(ratios, 0.05):.2f}, p95 {_percentile(ratios, 0.95):.2f}; within a factor of two: "
            f"{within} of {len(ratios)}"
        )
    print(f"    gradings finished per second (flood and examples included): {finished_in_run / (ended - began):.2f}")


SOLUTIONS: dict[str, str] = {}


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learnpath.settings.test")
    django.setup()
    from tests.fixtures.faults import FAST_MENDING

    learners = int(os.environ.get("BENCH_COHORT_LEARNERS", "100"))
    seconds = float(os.environ.get("BENCH_COHORT_SECONDS", "60"))
    accounts = int(os.environ.get("BENCH_FLOOD_ACCOUNTS", "20"))
    SOLUTIONS.update({slug: _solution(slug) for slug in (LOSS, TRAINING)})
    print(
        f"A cohort's burst: {learners} learners within {seconds:.0f} s, 1 grading worker (1 slot), production throttles"
    )
    # The production rates (learnpath/settings/base.py): the flood goes exactly as fast as it is allowed.
    env = {
        **FAST_MENDING,
        "THROTTLE_SUBMISSIONS": "6/min",
        "THROTTLE_EXAMPLE_RUNS": "12/min",
        "GRADING_MAX_IN_FLIGHT": "3",
        "THROTTLE_ACCOUNTS_PER_NETWORK": "30/day",
        "GRADING_IN_FLIGHT_PER_NETWORK": "12",
    }
    with private_services("learnpath-bench-cohort-") as services:
        for flood_accounts in (0, accounts):
            with stack_from(services, env=env) as stack:
                _run(stack, learners=learners, seconds=seconds, flood_accounts=flood_accounts)


if __name__ == "__main__":
    main()
