"""Learner state for certificate tests: a path finished but for its last step, verdicts as a worker stores them."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from challenges.kinds.grader import Check, Verdict
from challenges.models import Challenge, Submission
from challenges.services import submission_record_verdict
from drops.models import Drop, DropProgress
from plans.models import DistillationPlan
from plans.services import plan_create
from tests.plans.conftest import COMPLETE_PLAN


def verdict(status: str = "passed", score: float = 1.0) -> Verdict:
    return Verdict(
        status=status,
        score=score,
        checks=[Check("matches the reference", status == "passed", "ok" if status == "passed" else "off by 0.3")],
        feedback="All checks passed." if status == "passed" else "One check failed.",
        timings={"total_seconds": 0.5},
        grader_version="v1",
    )


def grade(user, challenge: Challenge, *, status: str = "passed", score: float = 1.0) -> Submission:
    """A submission as a grading worker leaves it: started, then its verdict recorded through the service."""
    attempt = Submission.objects.filter(user=user, challenge=challenge).count() + 1
    submission = Submission.objects.create(
        user=user,
        challenge=challenge,
        attempt=attempt,
        code="def f(): ...",
        status=Submission.Status.RUNNING,
        started_at=timezone.now(),
    )
    return submission_record_verdict(submission_id=submission.pk, verdict=verdict(status, score))


def path_challenges(path) -> list[Challenge]:
    return list(Challenge.objects.filter(drop__path=path, is_active=True).order_by("drop__position", "position"))


def save_plan(user, **fields) -> DistillationPlan:
    """A distillation plan saved through the service: complete (every worksheet section) unless fields blank some."""
    return plan_create(owner=user, **{**COMPLETE_PLAN, **fields})


def all_but_last_drop(user, path, *, plan: bool = True) -> Drop:
    """Every drop of the path completed but the last, which is open: the learner's state on the final day.

    With ``plan``, a complete distillation plan was saved earlier, before the last drop opened (from /plans/),
    so that saving it did not complete that drop.
    """
    if plan:
        save_plan(user)
    drops = list(Drop.objects.filter(path=path).order_by("position"))
    now = timezone.now()
    for drop in drops[:-1]:
        DropProgress.objects.update_or_create(
            user=user,
            drop=drop,
            defaults={"unlocked_at": now - timedelta(days=20), "completed_at": now - timedelta(days=1)},
        )
    DropProgress.objects.update_or_create(
        user=user, drop=drops[-1], defaults={"unlocked_at": now - timedelta(hours=2), "completed_at": None}
    )
    return drops[-1]
