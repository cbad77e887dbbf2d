"""Reads for challenges. Each selector runs a fixed number of queries, whatever the number of submissions."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import Count, Max, Q, QuerySet

from challenges.models import Challenge, HintReveal, Submission

NOT_TRIED, ATTEMPTED, PASSED = "not_tried", "attempted", "passed"


@dataclass(frozen=True)
class ChallengeStanding:
    """One learner's standing on one challenge."""

    status: str  # not_tried | attempted | passed
    best_score: float | None
    attempts: int


NOT_TRIED_STANDING = ChallengeStanding(status=NOT_TRIED, best_score=None, attempts=0)


def challenge_list(*, path=None) -> QuerySet[Challenge]:
    challenges = Challenge.objects.filter(is_active=True).select_related("drop")
    if path is not None:
        challenges = challenges.filter(drop__path=path)
    return challenges


def challenge_get(*, slug: str) -> Challenge | None:
    return challenge_list().filter(slug=slug).first()


def challenge_standings(*, user: User, challenges=None) -> dict[int, ChallengeStanding]:
    """Standing keyed by challenge id, for every challenge the user has submitted to (one query)."""
    submissions = Submission.objects.filter(user=user)
    if challenges is not None:
        submissions = submissions.filter(challenge__in=challenges)
    rows = submissions.values("challenge_id").annotate(
        attempts=Count("pk"),
        best_score=Max("score"),
        passes=Count("pk", filter=Q(status=Submission.Status.PASSED)),
    )
    return {
        row["challenge_id"]: ChallengeStanding(
            status=PASSED if row["passes"] else ATTEMPTED, best_score=row["best_score"], attempts=row["attempts"]
        )
        for row in rows
    }


def challenge_standing(*, user: User, challenge: Challenge) -> ChallengeStanding:
    return challenge_standings(user=user, challenges=[challenge]).get(challenge.pk, NOT_TRIED_STANDING)


def challenge_progress(*, user: User, path=None) -> list[dict]:
    """Every active challenge (of ``path``, or of all paths) with the user's status, in two queries.

    Each item: slug, kind, title, drop_id, drop_title, drop_position, status ("not_tried" | "attempted" |
    "passed"), best_score (0..1 or None), attempts, url (the challenge page).
    """
    challenges = list(challenge_list(path=path))
    standings = challenge_standings(user=user, challenges=challenges)
    return [
        {
            "slug": challenge.slug,
            "kind": challenge.kind,
            "title": challenge.title,
            "drop_id": challenge.drop_id,
            "drop_title": challenge.drop.title if challenge.drop else None,
            "drop_position": challenge.drop.position if challenge.drop else None,
            "status": (standing := standings.get(challenge.pk, NOT_TRIED_STANDING)).status,
            "best_score": standing.best_score,
            "attempts": standing.attempts,
            "url": challenge.get_absolute_url(),
        }
        for challenge in challenges
    ]


def submission_get(*, user: User, submission_id: int) -> Submission | None:
    """The submission if ``user`` owns it; None for anyone else's (callers answer 404, never 403)."""
    return Submission.objects.select_related("challenge").filter(pk=submission_id, user=user).first()


def submission_history(*, user: User, challenge: Challenge) -> QuerySet[Submission]:
    return Submission.objects.filter(user=user, challenge=challenge).select_related("challenge")


def submission_latest(*, user: User, challenge: Challenge) -> Submission | None:
    return submission_history(user=user, challenge=challenge).first()


def hints_revealed(*, user: User, challenge: Challenge) -> list[str]:
    """The hints ``user`` has revealed so far, in order."""
    count = HintReveal.objects.filter(user=user, challenge=challenge).count()
    return list(challenge.hints[:count])


def solution_visible(*, user: User, challenge: Challenge) -> bool:
    return Submission.objects.filter(user=user, challenge=challenge, status=Submission.Status.PASSED).exists()
