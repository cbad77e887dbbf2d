"""State changes for distillation plans. Every write goes through here, from the API and the pages alike."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from learnpath.signals import learner_progress_changed
from plans.models import PLAN_DROP_SLUG, DistillationPlan

MAX_PLANS_PER_OWNER = 50
# Time spent on the worksheet is estimated from the plan's age; a plan left open for days is not days of work.
MAX_SECONDS_CREDITED = 2 * 60 * 60

EDITABLE_FIELDS = frozenset(
    field.name
    for field in DistillationPlan._meta.get_fields()
    if getattr(field, "editable", False) and field.name not in {"id", "owner", "created_at", "updated_at"}
)


@transaction.atomic
def plan_create(*, owner: User, now: datetime | None = None, **fields) -> DistillationPlan:
    now = now or timezone.now()
    # Lock the owner's row so that two concurrent creates cannot both pass the limit.
    User.objects.select_for_update().filter(pk=owner.pk).first()
    if DistillationPlan.objects.filter(owner=owner).count() >= MAX_PLANS_PER_OWNER:
        raise ValidationError(f"You can keep up to {MAX_PLANS_PER_OWNER} plans. Delete one you no longer need.")
    plan = DistillationPlan(owner=owner)
    _assign(plan, fields)
    plan.full_clean()
    plan.save()
    _after_save(plan=plan, now=now)
    return plan


@transaction.atomic
def plan_update(*, plan: DistillationPlan, now: datetime | None = None, **fields) -> DistillationPlan:
    now = now or timezone.now()
    plan = DistillationPlan.objects.select_for_update().get(pk=plan.pk)
    _assign(plan, fields)
    plan.full_clean()
    plan.save()
    _after_save(plan=plan, now=now)
    return plan


@transaction.atomic
def plan_delete(*, plan: DistillationPlan) -> None:
    plan.delete()


def _assign(plan: DistillationPlan, fields: dict) -> None:
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"not editable on a plan: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        if isinstance(value, str):
            value = value.strip()
        setattr(plan, name, value)


def _after_save(*, plan: DistillationPlan, now: datetime) -> None:
    if not plan.is_complete:
        return
    first_complete = plan.completed_at is None
    if first_complete:
        plan.completed_at = now
        plan.save(update_fields=["completed_at"])
    seconds = (now - plan.created_at) if plan.created_at else timedelta(0)
    _plan_drop_complete(user=plan.owner, seconds_spent=int(seconds.total_seconds()), now=now)
    if first_complete:
        _certificate_check(user=plan.owner)


def _certificate_check(*, user: User) -> None:
    """A first complete plan may be the last thing a learner needed for a certificate, on each path with the worksheet.

    Said through learnpath.signals.learner_progress_changed, as drops and verdicts say theirs; the certificates app
    checks after the commit.
    """
    from learnpath.models import Path

    paths = Path.objects.filter(enrollments__user=user, drops__slug=PLAN_DROP_SLUG).values_list("pk", flat=True)
    for path_id in paths.distinct():
        learner_progress_changed.send(sender=DistillationPlan, user_id=user.pk, path_id=path_id)


def _plan_drop_complete(*, user: User, seconds_spent: int, now: datetime) -> None:
    """A complete worksheet completes the last drop, for each enrolled path where it is available to this learner."""
    from drops.models import DropProgress
    from drops.services import drop_complete

    progress_rows = DropProgress.objects.select_related("drop").filter(
        user=user,
        drop__slug=PLAN_DROP_SLUG,
        drop__path__enrollments__user=user,
        unlocked_at__lte=now,
        completed_at__isnull=True,
    )
    for progress in progress_rows:
        drop_complete(
            user=user,
            drop=progress.drop,
            seconds_spent=max(0, min(seconds_spent, MAX_SECONDS_CREDITED)),
            now=now,
        )
