"""Reads for paths and enrolment."""

from __future__ import annotations

from django.db.models import Count, Prefetch, QuerySet

from drops.models import Drop
from learnpath.models import Enrollment, Path, Phase


def path_list() -> QuerySet[Path]:
    return Path.objects.annotate(phase_count=Count("phases", distinct=True), drop_count=Count("drops", distinct=True))


def path_detail(slug: str) -> Path:
    return Path.objects.prefetch_related(
        Prefetch("phases", queryset=Phase.objects.order_by("position")),
        Prefetch("drops", queryset=Drop.objects.order_by("position")),
        "faq_entries",
    ).get(slug=slug)


def enrolled_path_ids(user) -> set[int]:
    if not user.is_authenticated:
        return set()
    return set(Enrollment.objects.filter(user=user).values_list("path_id", flat=True))
