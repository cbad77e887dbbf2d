"""Reads for certificates: what a learner still needs for one, their own certificates, and public verification."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.db.models import Count, Max, Min, Q, QuerySet

from certificates.models import Certificate
from learnpath.models import Path


@dataclass(frozen=True)
class ChallengeRequirement:
    slug: str
    title: str
    passed: bool
    best_score: float | None  # the best score of a passing attempt; None before the first pass
    passed_at: datetime | None  # when the first passing verdict was recorded


@dataclass(frozen=True)
class Requirements:
    """How far one learner is towards a path's certificate."""

    path: Path
    drops_completed: int
    drops_total: int
    challenges: list[ChallengeRequirement]
    plan_required: bool = False  # one of the path's drops is the distillation-plan worksheet
    plan_saved: bool = False  # the learner has saved a plan with every worksheet section filled in

    @property
    def challenges_passed(self) -> int:
        return sum(1 for challenge in self.challenges if challenge.passed)

    @property
    def met(self) -> bool:
        """Every drop completed, every active challenge of the path passed and, on a path with the worksheet,
        a complete plan saved (a path needs at least one drop)."""
        return (
            self.drops_total > 0
            and self.drops_completed >= self.drops_total
            and all(challenge.passed for challenge in self.challenges)
            and (self.plan_saved or not self.plan_required)
        )


def certificate_requirements(*, user: User, path: Path) -> Requirements:
    """The drops completed, the challenges passed and the plan saved on ``path`` by ``user``, read fresh.

    A path whose drops include the distillation-plan worksheet also needs a plan saved complete: plans
    belong to the learner, not to one path, so any of their plans that was once saved with every section
    filled in counts (``DistillationPlan.completed_at``).
    """
    from challenges.models import Submission
    from challenges.selectors import challenge_list
    from drops.models import Drop, DropProgress
    from plans.models import PLAN_DROP_SLUG, DistillationPlan

    drops_total = Drop.objects.filter(path=path).count()
    plan_required = Drop.objects.filter(path=path, slug=PLAN_DROP_SLUG).exists()
    plan_saved = plan_required and DistillationPlan.objects.filter(owner=user, completed_at__isnull=False).exists()
    drops_done = DropProgress.objects.filter(user=user, drop__path=path, completed_at__isnull=False).count()
    challenges = list(challenge_list(path=path).order_by("drop__position", "position", "slug"))
    passed = Q(status=Submission.Status.PASSED)
    rows = {
        row["challenge_id"]: row
        for row in Submission.objects.filter(user=user, challenge__in=challenges)
        .values("challenge_id")
        .annotate(
            passes=Count("pk", filter=passed),
            best_score=Max("score", filter=passed),
            passed_at=Min("finished_at", filter=passed),
        )
    }
    return Requirements(
        path=path,
        drops_completed=drops_done,
        drops_total=drops_total,
        challenges=[
            ChallengeRequirement(
                slug=challenge.slug,
                title=challenge.title,
                passed=bool(row and row["passes"]),
                best_score=row["best_score"] if row else None,
                passed_at=row["passed_at"] if row else None,
            )
            for challenge in challenges
            for row in [rows.get(challenge.pk)]
        ],
        plan_required=plan_required,
        plan_saved=plan_saved,
    )


def certificates_for(*, user: User) -> QuerySet[Certificate]:
    """The learner's own certificates, revoked ones included (their page says so), newest first."""
    return Certificate.objects.filter(user=user).select_related("path")


def certificate_of(*, user: User, public_id: str) -> Certificate | None:
    """One of the learner's own certificates; None for anyone else's."""
    return certificates_for(user=user).filter(public_id=public_id).first()


def certificate_lookup(*, public_id: str) -> Certificate | None:
    """Any certificate by its public id, revoked or not (verification tells the two apart); None if unknown."""
    if not public_id or len(public_id) > Certificate._meta.get_field("public_id").max_length:
        return None
    return Certificate.objects.select_related("path").filter(public_id=public_id).first()
