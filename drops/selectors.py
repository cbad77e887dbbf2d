"""Reads for the daily loop."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User

from drops.models import Drop, DropProgress
from learnpath.models import Path


@dataclass(frozen=True)
class DropState:
    state: str  # "locked" | "available" | "completed"
    unlocks_at: datetime | None
    completed_at: datetime | None


def drop_states(*, user: User, path: Path, now: datetime) -> dict[int, DropState]:
    """The state of every drop of ``path`` for ``user``, keyed by drop id, in one query."""
    rows = {p.drop_id: p for p in DropProgress.objects.filter(user=user, drop__path=path)}
    states = {}
    for drop_id in Drop.objects.filter(path=path).values_list("pk", flat=True):
        progress = rows.get(drop_id)
        if progress is None:
            states[drop_id] = DropState("locked", None, None)
        elif progress.completed_at is not None:
            states[drop_id] = DropState("completed", progress.unlocked_at, progress.completed_at)
        elif progress.unlocked_at <= now:
            states[drop_id] = DropState("available", progress.unlocked_at, None)
        else:
            states[drop_id] = DropState("locked", progress.unlocked_at, None)
    return states
