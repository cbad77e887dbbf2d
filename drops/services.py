"""State changes for the daily loop: unlocking, completing drops, reviews, streaks."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction

from drops.models import Drop, DropProgress
from learnpath.models import Path


@transaction.atomic
def schedule_start(*, user: User, path: Path, now: datetime) -> DropProgress | None:
    """Enrolling makes the path's first drop available at once."""
    first = Drop.objects.filter(path=path).order_by("position").first()
    if first is None:
        return None
    progress, _ = DropProgress.objects.get_or_create(user=user, drop=first, defaults={"unlocked_at": now})
    return progress


def schedule_timezone_changed(*, user: User) -> None:
    """Pending unlocks follow the learner's new timezone (filled in by the daily loop)."""
