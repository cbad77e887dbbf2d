"""`make bench`: run every bench/bench_*.py module's main() in turn; each prints its own figures.

Benchmarks print numbers, they never pass or fail on a clock: these machines are shared and noisy,
so variants are compared as ratios measured in the same run. What they print is also appended to
docs/benchmarks.md under a dated heading that describes the machine (``--no-record`` skips that;
naming modules runs only those: ``python -m bench bench_grading``).
"""

from __future__ import annotations

import contextlib
import datetime
import importlib
import io
import os
import pkgutil
import platform
import subprocess
import sys
import time
from pathlib import Path

import bench

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
RUNS_HEADING = "## Runs recorded by `make bench`"


class _Tee(io.TextIOBase):
    def __init__(self, *streams) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()


def machine() -> str:
    """The machine in words: CPU model and cores, memory, kernel, Python, torch, GPU."""
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    cgroups = "cgroup v2" if Path("/sys/fs/cgroup/cgroup.controllers").exists() else "cgroup v1"
    try:
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
        torch_version = f"torch {torch.__version__}"
    except ImportError:
        gpu, torch_version = "GPU unknown", "no torch"
    return (
        f"{platform.node()}: {os.cpu_count()} cores ({model}){memory}, Linux {platform.release()} ({cgroups}), "
        f"Python {platform.python_version()}, {torch_version}, {gpu}"
    )


def main(argv: list[str]) -> int:
    record = "--no-record" not in argv
    wanted = {a for a in argv if not a.startswith("--")}
    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_"))
    captured = io.StringIO()
    described = machine()
    with contextlib.redirect_stdout(_Tee(sys.stdout, captured)):
        print(f"# learnpath benchmarks, {described}")
        for name in names:
            if wanted and name not in wanted:
                continue
            module = importlib.import_module(f"bench.{name}")
            print(f"\n### {name}: {(module.__doc__ or '').strip().splitlines()[0] if module.__doc__ else ''}")
            started = time.perf_counter()
            _run_alone(name)
            print(f"({name} took {time.perf_counter() - started:.1f} s)")
    if record:
        _append(described, captured.getvalue())
    return 0


def _run_alone(name: str) -> None:
    """Each benchmark in a process of its own: they configure Django (databases, broker) differently."""
    child = subprocess.Popen(
        [sys.executable, "-c", f"import bench.{name} as m; m.main()"],
        cwd=DOC.parents[1], stdout=subprocess.PIPE, text=True, bufsize=1,
    )  # fmt: skip
    for line in child.stdout:
        print(line, end="")
    if child.wait() != 0:
        print(f"({name} failed with exit status {child.returncode}; see its output above)")


def _append(described: str, output: str) -> None:
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    if RUNS_HEADING not in text:
        text = text.rstrip("\n") + f"\n\n{RUNS_HEADING}\n\nEach run's output as printed, newest last.\n"
    body = "\n".join(line for line in output.splitlines()[1:])  # the first line is the machine, said below
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = text.rstrip("\n") + f"\n\n#### {stamp} on {described}\n{body}\n"
    DOC.write_text(text)
    print(f"(appended to {DOC.relative_to(DOC.parents[1])})", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
