"""Benchmarks (``make bench``): each ``bench_*.py`` module's ``main()`` prints its figures."""


def percentile(samples: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``samples``, nearest rank: what the tables call p50 and p95."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]
