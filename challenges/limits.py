"""Time and resource budgets for grading, in one place: the sandbox, the Celery task and the reaper agree.

A challenge's ``limits`` (from its challenge.yaml) override the sandbox defaults field by field; the
wall clock is capped so that one sandbox run, its start-up and the trusted checks always fit inside the
task's soft time limit, and the hard limit leaves room for the soft one to be handled.
"""

from __future__ import annotations

from dataclasses import fields, replace

from workers.sandbox import Limits

# Upper bounds an author may ask for; above these the content check reports a problem.
MAX_LIMITS: dict[str, float] = {
    "cpu_seconds": 90,
    "wall_seconds": 90,
    "memory_mb": 8192,
    "processes": 256,
    "file_size_mb": 256,
    "open_files": 1024,
    "output_bytes": 1024 * 1024,
    "tmp_mb": 1024,
    "result_mb": 512,
}
LIMIT_FIELDS = {f.name: f.type for f in fields(Limits)}

# The task's budget: the longest sandbox run (90 s) plus the sandbox start-up and checks, with margin.
SOFT_TIME_LIMIT_SECONDS = 150
HARD_TIME_LIMIT_SECONDS = 180
# The reaper treats a submission as abandoned once it has been running this long: past the hard limit,
# so a live worker has always finished (or been killed by Celery) before it is reaped.
REAP_RUNNING_AFTER_SECONDS = HARD_TIME_LIMIT_SECONDS + 60
# A submission still queued after this long has no worker coming for it (queue lost, no GPU worker).
REAP_QUEUED_AFTER_SECONDS = 60 * 60
# A submission whose worker was lost is graded again this many times in all before it ends in error.
MAX_GRADING_RUNS = 2


def sandbox_limits(overrides: dict | None) -> Limits:
    """The sandbox limits for a challenge: defaults, with the challenge's known, positive overrides."""
    values = {
        name: value
        for name, value in (overrides or {}).items()
        if name in LIMIT_FIELDS and isinstance(value, int | float) and not isinstance(value, bool) and value > 0
    }
    return replace(Limits(), **values)
