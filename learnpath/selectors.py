"""Reads for paths, enrolment and profiles. Path content is cached until it changes (learnpath.cache)."""

from __future__ import annotations

from django.db.models import Count, Prefetch
from django.utils import timezone

from drops.models import Drop
from learnpath.cache import content_cached, learner_cached
from learnpath.models import Enrollment, LearnerProfile, Path, Phase


def profile_of(user) -> LearnerProfile:
    """The learner's profile, for reading: the one loaded with the user, or the defaults for an account that
    has none yet (one made with createsuperuser); the services create it when something is saved."""
    try:
        return user.profile
    except LearnerProfile.DoesNotExist:
        return LearnerProfile(user=user)


def path_list() -> list[Path]:
    """Every path with its phase and drop counts (cached until the content changes)."""
    return content_cached(
        name="paths",
        compute=lambda: list(
            Path.objects.annotate(phase_count=Count("phases", distinct=True), drop_count=Count("drops", distinct=True))
        ),
    )


def path_detail(slug: str) -> Path:
    return Path.objects.prefetch_related(
        Prefetch("phases", queryset=Phase.objects.order_by("position")),
        Prefetch("drops", queryset=Drop.objects.order_by("position")),
        "faq_entries",
    ).get(slug=slug)


def path_content(slug: str) -> dict | None:
    """A path's outline as plain data: its phases with their drops, and its FAQ; None for no such path.

    Cached until the content changes: only loading content, or an edit in the admin, changes it.
    """
    found = content_cached(name=f"path:{slug}", compute=lambda: _path_content(slug) or {})
    return found or None


def _path_content(slug: str) -> dict | None:
    try:
        path = path_detail(slug)
    except Path.DoesNotExist:
        return None
    drops = list(path.drops.all())
    from drops.extras import drop_contents  # the spine does not import the daily loop at start-up

    contents = drop_contents(drops)
    return {
        "pk": path.pk,
        "slug": path.slug,
        "title": path.title,
        "summary": path.summary,
        "phases": [
            {
                "slug": phase.slug,
                "title": phase.title,
                "position": phase.position,
                "drops": [
                    {
                        "id": drop.pk,
                        "slug": drop.slug,
                        "title": drop.title,
                        "summary": drop.summary,
                        "position": drop.position,
                        "estimated_minutes": drop.estimated_minutes,
                        "contents": contents.get(drop.pk, []),
                    }
                    for drop in drops
                    if drop.phase_id == phase.pk
                ],
            }
            for phase in path.phases.all()
        ],
        "faq": [{"slug": f.slug, "question": f.question, "answer_html": f.answer_html} for f in path.faq_entries.all()],
    }


def enrolled_path_ids(user) -> set[int]:
    """The paths ``user`` is enrolled in (cached per learner; enrolling changes it)."""
    if not user.is_authenticated:
        return set()
    return learner_cached(
        user_id=user.pk,
        name="enrolled",
        now=timezone.now(),
        compute=lambda: (set(Enrollment.objects.filter(user=user).values_list("path_id", flat=True)), None),
    )
