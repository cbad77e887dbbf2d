"""train-student's trusted side per submission: drawing the hidden case and judging the result, cold and warm.

The trusted side is what the worker process does for a submission outside the sandbox: ``kind.draw`` (the
split, the teacher adapted to a fresh secret transform, the student's start) before the run, and
``kind.evaluate`` (loading the returned student, the labels-only baseline, the scores) after it. The sandbox
run between them is real (forked from a warm pool) but not counted. Two submissions: the reference solution,
and one whose ``train_student`` raises at once.

Per submission, each in fresh worker-like processes (no Django needed by the kind itself):

* **first on the machine**: a new process with an empty disk cache (``$VAR_DIR/grader-cache``), so it loads
  the digits and trains the teacher;
* **new process**: a new process whose disk cache another process filled: what a restarted worker pays;
* **warm**: the median of the next ``BENCH_TRUSTED_RUNS`` submissions (20) in that process;
* **warm, 2 cores busy**: the median of as many more while two busy-looping processes hold both cores,
  standing in for a cohort's sandboxes running beside the worker.

Each figure is wall seconds (CPU seconds of the worker process in brackets, all its threads). Run by hand:
``.venv/bin/python -m bench bench_train_student_trusted`` (or ``make bench``). Prints figures, asserts nothing
about time. Run from another checkout's directory (``cd old && python /path/to/this/file``), it measures
that checkout's grader, which is how docs/benchmarks.md's *before* was taken.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The checkout to measure: the working directory when it has the project (see above), else this file's own.
ROOT = Path.cwd() if (Path.cwd() / "challenges" / "kinds").is_dir() else Path(__file__).resolve().parents[1]
SLUG = "train-student"
RAISING = (
    "def train_student(student, teacher, transfer_x, labeled_x, labeled_y, device):\n"
    "    scale = 1 / 0  # raises at once, before any training\n"
    "    return []\n"
)
BURN_SECONDS = 300  # a busy loop's own deadline: it ends by itself even if this benchmark is killed


def _submission(name: str) -> str:
    if name == "raising":
        return RAISING
    return (ROOT / "content" / "challenges" / SLUG / "solution.py").read_text()


def _child(name: str, runs: int) -> None:
    """In a fresh process: the first submission's trusted seconds, then ``runs`` warm ones, idle and loaded."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learnpath.settings.test")
    import django

    django.setup()
    from challenges.content import read_target
    from challenges.kinds import load_kind
    from challenges.kinds.grader import run_drawn
    from workers.sandbox import SandboxPool

    target = read_target(ROOT / "content", SLUG)
    code = _submission(name)
    pool = SandboxPool(size=1)
    pool.warm("cpu")
    [zygote] = pool.zygotes("cpu")
    zygote.wait_ready()

    def one(seed: int) -> tuple[float, float, float, str]:
        wall, cpu = time.perf_counter(), time.process_time()
        kind = load_kind(SLUG)
        drawn = kind.draw(seed, target, "cpu")
        drawn_wall, drawn_cpu = time.perf_counter() - wall, time.process_time() - cpu
        sandbox = time.perf_counter()
        result = run_drawn(target, kind, code, drawn, device="cpu", pool=pool)
        sandbox = time.perf_counter() - sandbox
        wall, cpu = time.perf_counter(), time.process_time()
        evaluation = kind.evaluate(drawn, result.cases, target) if result.status == "ok" else None
        wall, cpu = time.perf_counter() - wall + drawn_wall, time.process_time() - cpu + drawn_cpu
        first_failing = next((c.name for c in evaluation.checks if not c.passed), "none") if evaluation else "-"
        return wall, cpu, sandbox, first_failing

    try:
        first = one(0)
        warm = [one(seed) for seed in range(1, runs + 1)]
        burn = f"import time\nend = time.time() + {BURN_SECONDS}\nwhile time.time() < end: pass"
        burners = [subprocess.Popen([sys.executable, "-c", burn]) for _ in range(2)]
        try:
            loaded = [one(seed) for seed in range(runs + 1, 2 * runs + 1)]
        finally:
            for burner in burners:
                burner.kill()
                burner.wait()
    finally:
        pool.close()
    print(json.dumps({"first": first, "warm": warm, "loaded": loaded}))


def _run_child(name: str, runs: int, var_dir: str) -> dict:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", name, str(runs)],
        cwd=ROOT, env={**os.environ, "VAR_DIR": var_dir}, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{name} child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _median(samples: list[list[float]]) -> tuple[float, float]:
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def _cell(wall: float, cpu: float) -> str:
    return f"{wall:.3f} s ({cpu:.3f})"


def main(runs: int | None = None) -> None:
    runs = runs or int(os.environ.get("BENCH_TRUSTED_RUNS", "20"))
    rows = {}
    for name in ("correct", "raising"):
        with tempfile.TemporaryDirectory(prefix="bench-trusted-") as var_dir:
            empty = _run_child(name, 1, var_dir)  # fills the disk cache, as the machine's first worker would
            filled = _run_child(name, runs, var_dir)
        rows[name] = (empty, filled)
    print(
        f"train-student's trusted side per submission (draw + evaluate, the sandbox run excluded), wall seconds "
        f"(CPU seconds of the worker process); warm: median of {runs} submissions; {os.cpu_count()} cores.\n"
    )
    print(
        "| submission | first on the machine | new process | warm | warm, 2 cores busy | sandbox run | first failing |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, (empty, filled) in rows.items():
        sandbox = statistics.median(s[2] for s in filled["warm"])
        print(
            f"| {name} | {_cell(*empty['first'][:2])} | {_cell(*filled['first'][:2])} | "
            f"{_cell(*_median(filled['warm']))} | {_cell(*_median(filled['loaded']))} | {sandbox:.3f} s | "
            f"{filled['warm'][0][3]} |"
        )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2], int(sys.argv[3]))
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else None)
