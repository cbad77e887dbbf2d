"""Time and resource budgets for grading, per challenge: the sandbox, the Celery task and the reaper agree.

A challenge's limits are its kind's defaults overridden field by field by its challenge.yaml. From them
follows the task's budget: the sandbox's wall clock, plus a cold sandbox start (a fresh interpreter
importing torch) and the kind's trusted work, is the soft time limit; the hard limit leaves room for the
soft one to be handled; the deadline stored on a running submission, past the hard limit, is when the
reaper may call its worker lost.

Torch-free: the web process reads these when it queues a submission.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from challenges.kinds import KINDS, kind_info
from workers.sandbox.limits import Limits

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
    # Disk I/O per run (workers.sandbox.limits: the host's SANDBOX_IO_* are the defaults).
    "io_read_mbps": 500,
    "io_write_mbps": 500,
    "io_read_iops": 50_000,
    "io_write_iops": 50_000,
}
LIMIT_FIELDS = {f.name: f.type for f in fields(Limits)}

# A cold sandbox: bwrap, a fresh interpreter and `import torch` (~1-3 s here; far more on a loaded host).
SANDBOX_START_SECONDS = 45
# Between the soft limit (the task records a timeout verdict) and the hard one (Celery kills the process).
SOFT_TO_HARD_SECONDS = 30
# Past the hard limit, before the reaper treats a running submission as abandoned.
REAP_GRACE_SECONDS = 60
# A submission still queued after this long has no worker coming for it (queue lost, no GPU worker).
REAP_QUEUED_AFTER_SECONDS = 60 * 60
# A submission whose worker was lost is graded again this many times in all before it ends in error.
MAX_GRADING_RUNS = 2
# The longest countdown before a retry (challenges.tasks._backoff): the retry's message waits unacknowledged.
RETRY_COUNTDOWN_MAX_SECONDS = 300
# On top of the longest a grading message can stay unacknowledged, before Redis hands it out again.
VISIBILITY_MARGIN_SECONDS = 300
# Celery's own default for Redis; below it nothing is gained: the reaper recovers a lost worker's submission
# minutes after its deadline, whatever the broker does with the message.
MIN_VISIBILITY_TIMEOUT_SECONDS = 3600


@dataclass(frozen=True)
class TaskBudget:
    soft_seconds: int
    hard_seconds: int

    @property
    def reap_after_seconds(self) -> int:
        return self.hard_seconds + REAP_GRACE_SECONDS


def sandbox_limits(kind: str, overrides: dict | None) -> Limits:
    """The sandbox limits for a challenge: its kind's defaults, then its own known, positive overrides."""
    values = {**kind_info(kind).limits, **(overrides or {})}
    values = {
        name: value
        for name, value in values.items()
        if name in LIMIT_FIELDS and isinstance(value, int | float) and not isinstance(value, bool) and value > 0
    }
    return replace(Limits(), **values)


def task_budget(kind: str, limits: Limits) -> TaskBudget:
    """The Celery soft/hard time limits for grading one submission of a challenge with these limits."""
    soft = int(limits.wall_seconds + SANDBOX_START_SECONDS + kind_info(kind).checks_seconds)
    return TaskBudget(soft_seconds=soft, hard_seconds=soft + SOFT_TO_HARD_SECONDS)


def slot_budget() -> TaskBudget:
    """The time limits every grading message carries: the longest any challenge can have.

    A message is a claim on a grading slot, not on one submission (``challenges.scheduler``): it may grade
    whichever challenge the fair order puts first when a worker takes it. So Celery's limits, and a running
    submission's deadline, are sized for the longest; the claimed challenge's own soft limit is applied by the
    task once it knows the challenge (``challenges.tasks``), and its sandbox keeps its own wall clock.
    """
    most = replace(Limits(), wall_seconds=MAX_LIMITS["wall_seconds"])
    return max((task_budget(name, most) for name in KINDS), key=lambda budget: budget.hard_seconds)


def longest_hard_limit_seconds() -> int:
    """The largest hard limit any challenge can have: the broker's visibility timeout must exceed it."""
    return slot_budget().hard_seconds


def broker_visibility_timeout_seconds() -> int:
    """Redis's ``visibility_timeout`` for the grading queue: after it, an unacknowledged message is redelivered.

    Grading tasks are acknowledged late, so a message stays unacknowledged while its task runs (at most the
    longest hard limit) and while a retry waits for its countdown. Were the timeout shorter, Redis would
    hand a message that a live worker still holds to a second one, and the same submission would be graded
    twice at once; longer, it only delays the redelivery after a lost worker, which the reaper covers.
    """
    needed = longest_hard_limit_seconds() + RETRY_COUNTDOWN_MAX_SECONDS + VISIBILITY_MARGIN_SECONDS
    return max(MIN_VISIBILITY_TIMEOUT_SECONDS, needed)
