"""Grading latency per challenge kind: a cold sandbox per run vs. a pre-warmed one (torch already imported).

Run by hand: ``.venv/bin/python bench/bench_grading.py [runs] [device]``. Prints figures, asserts nothing
about time. Each reference solution is graded through the real sandbox and its kind's trusted checks. A
pre-warmed sandbox is still fresh per submission: it is started ahead, used once, discarded.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from challenges.content import read_target
from challenges.kinds.grader import grade
from workers.sandbox import PrewarmedSandbox

CONTENT = Path(__file__).resolve().parents[1] / "content"
SLUGS = ("distillation-loss", "sequence-distillation-loss", "train-student")


def _summary(label: str, samples: list[float]) -> None:
    print(
        f"  {label:<36} median {statistics.median(samples):6.3f} s   "
        f"min {min(samples):6.3f} s   max {max(samples):6.3f} s   (n={len(samples)})"
    )


def bench_kind(slug: str, runs: int, device: str) -> None:
    target = read_target(CONTENT, slug)
    code = (CONTENT / "challenges" / slug / "solution.py").read_text()
    cold, startup, warm, run, checks = [], [], [], [], []
    for _ in range(runs):
        started = time.perf_counter()
        verdict = grade(target, code, device=device)
        cold.append(time.perf_counter() - started)
        startup.append(verdict.timings["sandbox_startup_seconds"])
        assert verdict.status == "passed", verdict.feedback
    for _ in range(runs):
        box = PrewarmedSandbox(target.limits, device)
        box.wait_ready()
        started = time.perf_counter()
        verdict = grade(target, code, device=device, prewarmed=box)
        warm.append(time.perf_counter() - started)
        run.append(verdict.timings["sandbox_run_seconds"])
        checks.append(verdict.timings["checks_seconds"])
        assert verdict.status == "passed", verdict.feedback
    print(f"{slug} ({target.kind}), reference solution, {len(verdict.checks)} checks, {device}")
    _summary("cold: submit -> verdict", cold)
    _summary("  of which sandbox start + torch", startup)
    _summary("pre-warmed: submit -> verdict", warm)
    _summary("  of which the learner's code runs", run)
    _summary("  of which trusted checks", checks)
    print(f"  ratio cold / pre-warmed (medians, same run): {statistics.median(cold) / statistics.median(warm):.1f}x")


def main(runs: int = 5, device: str = "cpu") -> None:
    for slug in SLUGS:
        bench_kind(slug, runs, device)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5, sys.argv[2] if len(sys.argv) > 2 else "cpu")
