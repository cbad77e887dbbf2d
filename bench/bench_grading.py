"""Grading latency: a cold sandbox per run vs. a pre-warmed one (torch already imported).

Run by hand: ``.venv/bin/python bench/bench_grading.py [runs]``. Prints figures, asserts nothing.
A pre-warmed sandbox is still fresh per submission: it is started ahead, used once, discarded.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from challenges.grading import grade

from workers.sandbox import Limits, PrewarmedSandbox

SOLUTION = Path(__file__).resolve().parents[1] / "content" / "challenges" / "distillation-loss" / "solution.py"


def _summary(label: str, samples: list[float]) -> None:
    print(
        f"{label:<34} median {statistics.median(samples):6.3f} s   "
        f"min {min(samples):6.3f} s   max {max(samples):6.3f} s   (n={len(samples)})"
    )


def main(runs: int = 5) -> None:
    code = SOLUTION.read_text()
    limits = Limits()
    cold, cold_startup, warm, warm_ahead = [], [], [], []
    for _ in range(runs):
        started = time.perf_counter()
        result = grade("distillation-loss", code, limits=limits)
        cold.append(time.perf_counter() - started)
        cold_startup.append(result.timings["sandbox_startup_seconds"])
        assert result.status == "passed", result.feedback

    for _ in range(runs):
        ahead = time.perf_counter()
        box = PrewarmedSandbox(limits, "cpu")
        box.wait_ready()
        warm_ahead.append(time.perf_counter() - ahead)
        started = time.perf_counter()
        result = grade("distillation-loss", code, limits=limits, prewarmed=box)
        warm.append(time.perf_counter() - started)
        assert result.status == "passed", result.feedback

    print(f"distillation-loss, reference solution, {len(result.checks)} checks, 11 hidden probes, CPU")
    _summary("cold: submit -> verdict", cold)
    _summary("  of which sandbox start+torch", cold_startup)
    _summary("pre-warmed: submit -> verdict", warm)
    _summary("  (warm-up paid ahead of time)", warm_ahead)
    print(f"ratio cold / pre-warmed (medians, same run): {statistics.median(cold) / statistics.median(warm):.1f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
