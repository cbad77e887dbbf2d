"""Grading overhead per submission for each challenge kind: cold sandbox vs forked from the warm pool.

Overhead is what the sandbox costs a submission: from handing the code and inputs to the sandbox to having
its outputs back, minus the time the learner's own function ran (as the harness measured it). Each run is
a fresh, isolated sandbox either way; the pool only skips the interpreter start and ``import torch``. The
trusted checks' own time is printed beside it, and the whole ``grade()`` (draw, sandbox, checks) too.

Run by hand: ``.venv/bin/python -m bench bench_grading`` (or ``make bench``). Prints figures, asserts
nothing about time. ``BENCH_GRADING_RUNS`` sets the pooled runs per kind (cold runs: a third of them).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import percentile  # after the path: this file also runs directly

CONTENT = Path(__file__).resolve().parents[1] / "content"
SLUGS = ("distillation-loss", "sequence-distillation-loss", "train-student")


def _overheads(target, code: str, runs: int, pool) -> tuple[list[float], list[float]]:
    from challenges.kinds import load_kind
    from workers.sandbox import run_cases

    kind = load_kind(target.kind)
    overheads, learner = [], []
    for seed in range(runs):
        cases = [d.case for d in kind.draw(seed, target, "cpu")]
        started = time.perf_counter()
        result = run_cases(
            code, entrypoint=target.entrypoint, cases=cases, result=kind.result, limits=target.limits, pool=pool
        )
        wall = time.perf_counter() - started
        assert result.status == "ok", (result.status, result.message)
        assert result.pooled == (pool is not None)
        own = sum(case.seconds for case in result.cases)
        overheads.append(wall - own)
        learner.append(own)
    return overheads, learner


def bench_kind(slug: str, runs: int, pool) -> dict[str, float]:
    from challenges.content import read_target
    from challenges.kinds.grader import grade

    target = read_target(CONTENT, slug)
    code = (CONTENT / "challenges" / slug / "solution.py").read_text()
    cold, _ = _overheads(target, code, max(3, runs // 3), None)
    pooled, learner = _overheads(target, code, runs, pool)
    totals, checks = [], []
    for seed in range(max(3, runs // 3)):
        started = time.perf_counter()
        verdict = grade(target, code, seed=seed, pool=pool)
        totals.append(time.perf_counter() - started)
        checks.append(verdict.timings["checks_seconds"])
        assert verdict.status == "passed", verdict.feedback
    row = {
        "cold_p50": statistics.median(cold),
        "cold_p95": percentile(cold, 0.95),
        "pooled_p50": statistics.median(pooled),
        "pooled_p95": percentile(pooled, 0.95),
        "learner_p50": statistics.median(learner),
        "checks_p50": statistics.median(checks),
        "grade_p50": statistics.median(totals),
    }
    row["ratio"] = row["cold_p50"] / row["pooled_p50"]
    return row


def main(runs: int | None = None) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learnpath.settings.test")
    django.setup()
    from workers.sandbox import SandboxPool

    runs = runs or int(os.environ.get("BENCH_GRADING_RUNS", "30"))
    pool = SandboxPool(size=1)
    pool.warm("cpu")
    try:
        [zygote] = pool.zygotes("cpu")
        zygote.wait_ready()
        rows = {slug: bench_kind(slug, runs, pool) for slug in SLUGS}
    finally:
        pool.close()
    print(f"Sandbox overhead per submission (code handed over -> outputs back, minus the learner's own function), "
          f"CPU, {runs} pooled and {max(3, runs // 3)} cold runs per kind; learner: the reference solution's own "
          "time; checks: the trusted comparison; grade(): the whole grading, pooled.\n")  # fmt: skip
    print("| challenge | cold p50 | cold p95 | pooled p50 | pooled p95 | cold / pooled | learner | checks | grade() |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for slug, r in rows.items():
        print(
            f"| `{slug}` | {r['cold_p50']:.3f} s | {r['cold_p95']:.3f} s | {r['pooled_p50']:.3f} s | "
            f"{r['pooled_p95']:.3f} s | {r['ratio']:.1f}× | {r['learner_p50']:.3f} s | {r['checks_p50']:.3f} s | "
            f"{r['grade_p50']:.3f} s |"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else None)
