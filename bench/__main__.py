"""`make bench`: run every bench/bench_*.py module's main() in turn; each prints its own figures.

Benchmarks print numbers, they never pass or fail on a clock: these machines are shared and noisy,
so variants are compared as ratios measured in the same run.
"""

from __future__ import annotations

import importlib
import pkgutil
import platform
import sys
import time

import bench


def main(argv: list[str]) -> int:
    wanted = set(argv)
    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_"))
    print(
        f"# learnpath benchmarks on {platform.node()} ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}"
    )
    for name in names:
        if wanted and name not in wanted:
            continue
        module = importlib.import_module(f"bench.{name}")
        print(f"\n## {name}: {(module.__doc__ or '').strip().splitlines()[0] if module.__doc__ else ''}")
        started = time.perf_counter()
        module.main()
        print(f"({name} took {time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
