"""State changes for the daily loop: unlocking, completing drops, reviews, goal minutes and streaks.

Every write here first locks the learner's Streak row, so two requests from one learner (a double click, two
tabs) run one after the other; unique constraints back that up.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import fsrs
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from drops import unlocks
from drops.days import day_start, local_date, next_day_start, to_utc
from drops.models import DailyActivity, Drop, DropProgress, RecallCard, ReviewCard, ReviewLog, Streak
from drops.scheduling import retrievability, scheduler, to_fsrs
from drops.selectors import due_counts, recall_is_meaningful, rest_days_before, session_horizon
from drops.streaks import (
    READING_CAP_FACTOR,
    READING_SECONDS_FLOOR_CAP,
    REVIEW_SECONDS_CAP,
    streak_count_day,
)
from learnpath.cache import learner_changed
from learnpath.models import Path
from learnpath.profiles import profile_for
from learnpath.signals import learner_progress_changed

logger = logging.getLogger(__name__)

ANSWER_MAX_LENGTH = 500


class DropLocked(Exception):
    def __init__(self, unlocks_at: datetime | None):
        super().__init__("This drop is locked.")
        self.unlocks_at = unlocks_at


class CardNotDue(Exception):
    def __init__(self, due: datetime):
        super().__init__("This card is not due yet.")
        self.due = due


class ReviewInputError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class CompletionResult:
    progress: DropProgress
    newly_completed: bool
    next_drop: Drop | None
    next_unlocks_at: datetime | None
    cards_added: int
    streak: Streak


@dataclass(frozen=True)
class RatingResult:
    review_card: ReviewCard
    log: ReviewLog
    rating: int
    correct: bool | None
    retrievability: float | None  # FSRS's probability of recall just before the rating, where it means something
    remaining: int
    streak: Streak


# ---------- unlocking ----------


@transaction.atomic
def schedule_start(*, user: User, path: Path, now: datetime) -> DropProgress | None:
    """Enrolling makes the path's first drop available at once."""
    first = Drop.objects.filter(path=path).order_by("position").first()
    if first is None:
        return None
    progress, _ = DropProgress.objects.get_or_create(user=user, drop=first, defaults={"unlocked_at": now})
    return progress


@transaction.atomic
def schedule_timezone_changed(*, user: User, old_timezone: str | None = None, now: datetime | None = None) -> int:
    """Pending unlocks move to the start of the next local day in the learner's new timezone.

    The next day is counted from the moment the previous drop was completed, seen in the new zone. Nothing
    already unlocked is touched (never re-lock), and nothing moves into the past. Returns how many moved.
    """
    now = now or timezone.now()
    zone = profile_for(user).zone
    streak = _lock_learner(user)
    old_timezone = old_timezone or streak.zone_name
    if old_timezone and old_timezone != str(zone):
        # Keep "yesterday" meaning yesterday: crossing the date line must neither break nor double a streak.
        shift = local_date(now, zone) - local_date(now, ZoneInfo(old_timezone))
        if shift and streak.last_day is not None:
            streak.last_day += shift
    streak.zone_name = str(zone)
    streak.save(update_fields=["last_day", "zone_name"])
    pending = list(
        DropProgress.objects.select_for_update()
        .filter(user=user, completed_at__isnull=True, unlocked_at__gt=now)
        .select_related("drop")
    )
    if not pending:
        return 0
    previous = {  # a drop read ahead counts from the day it would have unlocked (drops.unlocks)
        (p.drop.path_id, p.drop.position): max(p.completed_at, p.unlocked_at)
        for p in DropProgress.objects.filter(user=user, completed_at__isnull=False).select_related("drop")
    }
    moved = 0
    for progress in pending:
        before = Drop.objects.filter(path_id=progress.drop.path_id, position__lt=progress.drop.position)
        before = before.order_by("-position").values_list("position", flat=True).first()
        completed_at = previous.get((progress.drop.path_id, before))
        if completed_at is None:
            continue
        unlocks_at = max(next_day_start(completed_at, zone), now)
        if unlocks_at != progress.unlocked_at:
            progress.unlocked_at = unlocks_at
            progress.save(update_fields=["unlocked_at"])
            moved += 1
    return moved


# ---------- completion ----------


@transaction.atomic
def drop_complete(*, user: User, drop: Drop, seconds_spent: int, now: datetime | None = None) -> CompletionResult:
    """Complete ``drop`` once: its cards join the deck, the next drop unlocks at the next local midnight.

    A drop not unlocked yet may be completed by reading ahead (drops.unlocks): it counts for today's activity
    as any drop does (one streak day at most, whatever is read), its cards join the deck at once, and the
    next drop unlocks at the start of the day after the one this drop would have unlocked on.
    Idempotent: completing again (or concurrently) changes nothing and reports ``newly_completed=False``.
    Raises DropLocked when the learner cannot open the drop yet.
    """
    now = now or timezone.now()
    profile = profile_for(user)
    zone = profile.zone
    streak = _lock_learner(user)
    progress = DropProgress.objects.select_for_update().filter(user=user, drop=drop).first()
    if progress is None or not _may_open(user, progress, now, profile):
        raise DropLocked(progress.unlocked_at if progress else None)
    next_drop = Drop.objects.filter(path_id=drop.path_id, position__gt=drop.position).order_by("position").first()
    if progress.completed_at is not None:
        next_progress = DropProgress.objects.filter(user=user, drop=next_drop).first() if next_drop else None
        return CompletionResult(
            progress, False, next_drop, next_progress.unlocked_at if next_progress else None, 0, streak
        )

    cap = max(drop.estimated_minutes * 60 * READING_CAP_FACTOR, READING_SECONDS_FLOOR_CAP)
    elapsed = max(0, int((now - _open_since(user, drop, progress, now)).total_seconds()))
    seconds = max(0, min(int(seconds_spent), cap, elapsed))
    progress.completed_at = now
    progress.seconds_spent = seconds
    progress.save(update_fields=["completed_at", "seconds_spent"])

    card_ids = list(drop.cards.filter(is_active=True).values_list("pk", flat=True))
    existing = set(ReviewCard.objects.filter(user=user, card_id__in=card_ids).values_list("card_id", flat=True))
    new_cards = [_new_in_deck(user.pk, pk, due=now, now=now) for pk in card_ids if pk not in existing]
    ReviewCard.objects.bulk_create(new_cards, ignore_conflicts=True)

    next_unlocks_at = None
    if next_drop is not None:
        next_progress, _ = DropProgress.objects.get_or_create(
            user=user,
            drop=next_drop,
            defaults={
                "unlocked_at": unlocks.next_unlock_at(unlocked_at=progress.unlocked_at, completed_at=now, zone=zone)
            },
        )
        next_unlocks_at = next_progress.unlocked_at
    activity_record(
        user=user, now=now, seconds_reading=seconds, drops_completed=1, counts_for_streak=True, _streak=streak
    )
    # The last drop may finish the path (the certificates app listens).
    learner_progress_changed.send(sender=DropProgress, user_id=user.pk, path_id=drop.path_id)
    return CompletionResult(progress, True, next_drop, next_unlocks_at, len(new_cards), streak)


def _may_open(user: User, progress: DropProgress, now: datetime, profile) -> bool:
    """drops.unlocks.may_open with today's read-aheads counted (one query, under the learner's lock)."""
    if progress.completed_at is not None or progress.unlocked_at <= now:
        return True
    completions = DropProgress.objects.filter(
        user=user,
        completed_at__gte=day_start(local_date(now, profile.zone), profile.zone),
        completed_at__lt=F("unlocked_at"),
    ).values_list("completed_at", flat=True)
    allowance = unlocks.read_ahead_allowance(
        per_day=profile.read_ahead_per_day, read_ahead_completions=completions, now=now, zone=profile.zone
    )
    return unlocks.may_open(unlocked_at=progress.unlocked_at, completed_at=None, now=now, allowance=allowance)


def _open_since(user: User, drop: Drop, progress: DropProgress, now: datetime) -> datetime:
    """When the learner could first open the drop: its unlock, or, read ahead, the completion of the one before."""
    if progress.unlocked_at <= now:
        return progress.unlocked_at
    before = (
        DropProgress.objects.filter(user=user, drop__path_id=drop.path_id, drop__position__lt=drop.position)
        .order_by("-drop__position")
        .values_list("completed_at", flat=True)
        .first()
    )
    return min(progress.unlocked_at, before) if before else progress.unlocked_at


# ---------- reviews ----------


def answer_is_correct(card: RecallCard, answer: str) -> bool:
    """Platform check of a multiple-choice or numeric answer (free recall is self-rated)."""
    given = " ".join(str(answer).split())
    if card.kind == RecallCard.Kind.CHOICE:
        return given.casefold() == " ".join(card.answer.split()).casefold()
    if card.kind == RecallCard.Kind.NUMERIC:
        try:
            value = float(given.replace(",", ".").replace(" ", ""))
        except ValueError:
            return False
        if not math.isfinite(value) or card.numeric_answer is None:
            return False
        tolerance = card.tolerance or 0.0
        return abs(value - card.numeric_answer) <= tolerance + 1e-9 * max(1.0, abs(card.numeric_answer))
    raise ValueError("free-recall cards are self-rated")


def suggested_rating(correct: bool) -> int:
    """The rating offered after a checked answer: Good when right, Again when wrong."""
    return ReviewLog.Rating.GOOD if correct else ReviewLog.Rating.AGAIN


@transaction.atomic
def review_card_rate(
    *,
    user: User,
    review_card_id: int,
    rating: int | None = None,
    answer: str | None = None,
    duration_ms: int | None = None,
    now: datetime | None = None,
) -> RatingResult:
    """Rate one of ``user``'s cards (1 Again … 4 Easy) and schedule it with FSRS.

    Choice and numeric cards need ``answer``, checked here and recorded with the rating. The rating is the
    learner's: without one, a right answer is rated Good and a wrong one Again (the ratings suggested after
    the check); one sent is recorded as given, since only the learner knows a slip from a gap.
    Raises ReviewCard.DoesNotExist for another learner's card, CardNotDue for a card that is not in today's
    session, ReviewInputError for a missing answer or rating.
    """
    now = now or timezone.now()
    profile = profile_for(user)
    streak = _lock_learner(user)
    review_card = ReviewCard.objects.select_for_update().select_related("card").get(pk=review_card_id, user=user)
    if review_card.suspended_at is not None or not _in_session(review_card, now, profile.zone):
        raise CardNotDue(review_card.due)
    card = review_card.card
    correct = None
    if card.kind != RecallCard.Kind.RECALL:
        if answer is None or not str(answer).strip():
            raise ReviewInputError("answer", "This card is checked: send the learner's answer.")
        correct = answer_is_correct(card, answer)
        rating = rating or suggested_rating(correct)
    elif rating is None:
        raise ReviewInputError("rating", "Rate free-recall cards from 1 (Again) to 4 (Easy).")
    if rating not in ReviewLog.Rating.values:
        raise ReviewInputError("rating", "Rating must be 1 (Again), 2 (Hard), 3 (Good) or 4 (Easy).")

    fsrs_scheduler = scheduler(desired_retention=profile.retention)
    state_before = review_card.state
    # What FSRS expected of this review, before it (just after it, any card is at about 100%).
    recall_before = retrievability(review_card, now, fsrs_scheduler) if recall_is_meaningful(review_card, now) else None
    updated, _ = fsrs_scheduler.review_card(
        to_fsrs(review_card), fsrs.Rating(rating), review_datetime=to_utc(now), review_duration=duration_ms
    )
    review_card.state = int(updated.state)
    review_card.step = updated.step
    review_card.stability = updated.stability
    review_card.difficulty = updated.difficulty
    review_card.due = updated.due
    review_card.last_review = updated.last_review
    review_card.save(update_fields=["state", "step", "stability", "difficulty", "due", "last_review"])
    log = ReviewLog.objects.create(
        user=user,
        review_card=review_card,
        rating=rating,
        reviewed_at=now,
        local_date=local_date(now, profile.zone),
        duration_ms=duration_ms,
        answer=(str(answer)[:ANSWER_MAX_LENGTH] if answer is not None else ""),
        correct=correct,
        state_before=state_before,
        due_after=updated.due,
    )
    seconds = min((duration_ms or 0) // 1000, REVIEW_SECONDS_CAP)
    activity = activity_record(
        user=user,
        now=now,
        seconds_reviewing=seconds,
        reviews=1,
        capped_reviews=1 if state_before == ReviewCard.State.REVIEW else 0,
        _streak=streak,
    )
    counts = due_counts(user=user, now=now, zone=profile.zone, cap=profile.daily_review_cap, activity=activity)
    if counts.in_session == 0:
        # Finishing the day's reviews counts the day for the streak.
        activity_record(user=user, now=now, counts_for_streak=True, _streak=streak)
    return RatingResult(
        review_card=review_card,
        log=log,
        rating=rating,
        correct=correct,
        retrievability=recall_before,
        remaining=counts.in_session,
        streak=streak,
    )


def _in_session(review_card: ReviewCard, now: datetime, zone) -> bool:
    return review_card.due <= session_horizon(review_card.state, now, zone)


# ---------- goal minutes and streaks ----------


@transaction.atomic
def activity_record(
    *,
    user: User,
    now: datetime | None = None,
    seconds_reading: int = 0,
    seconds_reviewing: int = 0,
    drops_completed: int = 0,
    reviews: int = 0,
    capped_reviews: int = 0,
    counts_for_streak: bool = False,
    _streak: Streak | None = None,
) -> DailyActivity:
    """Add to the learner's activity for their current local day; a day that counts extends the streak.

    Seconds are clamped to one action's caps here too, so no caller can inflate the goal.
    """
    now = now or timezone.now()
    streak = _streak or _lock_learner(user)
    zone = profile_for(user).zone
    day = local_date(now, zone)
    activity, _ = DailyActivity.objects.get_or_create(user=user, date=day)
    activity.seconds_reading += max(0, min(int(seconds_reading), READING_SECONDS_FLOOR_CAP * READING_CAP_FACTOR))
    activity.seconds_reviewing += max(0, min(int(seconds_reviewing), REVIEW_SECONDS_CAP))
    activity.drops_completed += drops_completed
    activity.reviews_done += reviews
    activity.capped_reviews_done += capped_reviews
    if counts_for_streak:
        # Not only the first time: after a timezone change the same date can be a new day (see the date line).
        activity.counts_for_streak = True
        streak_count_day(streak, day, rest=rest_days_before(streak=streak, today=day, zone=zone))
        streak.save()
    activity.save()
    return activity


def _lock_learner(user: User) -> Streak:
    """Lock the learner's row before a daily-loop write, and mark their cached summaries stale.

    Every service here that changes a learner's state comes through this first, so it is the one place the
    learner's cached Today, review session, progress and outline (learnpath.cache) are invalidated.
    """
    learner_changed(user.pk)
    Streak.objects.get_or_create(user=user, defaults={"zone_name": profile_for(user).timezone})
    return Streak.objects.select_for_update().get(user=user)


def _new_in_deck(user_id: int, card_id: int, *, due: datetime, now: datetime) -> ReviewCard:
    """A card joining a learner's deck: new, at its first learning step, due at ``due``."""
    return ReviewCard(user_id=user_id, card_id=card_id, state=ReviewCard.State.LEARNING, step=0, due=due, added_at=now)


# ---------- content that changed under learners ----------


def add_cards_to_decks(*, card_ids: Iterable[int], now: datetime | None = None) -> int:
    """Cards that a content load added to drops, or brought back, join the decks of learners who completed those
    drops already, as completing them now would have done. One drop's cards a day, in the path's order, so a
    load that adds cards to every drop does not put them all in one session. Returns how many joined.
    Cards a learner already holds (a retired card brought back) keep their schedule and history.
    """
    now = now or timezone.now()
    by_drop: dict[int, list[int]] = {}
    for pk, drop_id in RecallCard.objects.filter(pk__in=list(card_ids), is_active=True).values_list("pk", "drop_id"):
        by_drop.setdefault(drop_id, []).append(pk)
    if not by_drop:
        return 0
    completed = (
        DropProgress.objects.filter(drop_id__in=by_drop, completed_at__isnull=False)
        .order_by("user_id", "drop__position")
        .values_list("user_id", "drop_id")
    )
    held = set(
        ReviewCard.objects.filter(card_id__in=[pk for pks in by_drop.values() for pk in pks]).values_list(
            "user_id", "card_id"
        )
    )
    new_cards, day_of = [], {}
    for user_id, drop_id in completed:
        missing = [pk for pk in by_drop[drop_id] if (user_id, pk) not in held]
        if not missing:
            continue
        day = day_of[user_id] = day_of.get(user_id, -1) + 1
        due = now + timedelta(days=day)
        new_cards += [_new_in_deck(user_id, pk, due=due, now=now) for pk in missing]
    ReviewCard.objects.bulk_create(new_cards, ignore_conflicts=True)
    for user_id in day_of:
        learner_changed(user_id)
    return len(new_cards)


# ---------- the learner's own cards ----------


@transaction.atomic
def review_card_suspend(*, user: User, review_card_id: int, now: datetime | None = None) -> ReviewCard:
    """Take one of ``user``'s cards out of reviews and every count until it is resumed. Idempotent: a card
    already suspended keeps its first ``suspended_at``. Its FSRS state is left as it is.
    Raises ReviewCard.DoesNotExist for anyone else's card."""
    now = now or timezone.now()
    _lock_learner(user)
    review_card = (
        ReviewCard.objects.select_for_update().select_related("card", "card__drop").get(pk=review_card_id, user=user)
    )
    if review_card.suspended_at is None:
        review_card.suspended_at = now
        review_card.save(update_fields=["suspended_at"])
    return review_card


@transaction.atomic
def review_card_resume(*, user: User, review_card_id: int) -> ReviewCard:
    """Bring a suspended card back into reviews, with the schedule it had (a card whose due date passed while
    it was suspended is due at once). Idempotent. Raises ReviewCard.DoesNotExist for anyone else's card."""
    _lock_learner(user)
    review_card = (
        ReviewCard.objects.select_for_update().select_related("card", "card__drop").get(pk=review_card_id, user=user)
    )
    if review_card.suspended_at is not None:
        review_card.suspended_at = None
        review_card.save(update_fields=["suspended_at"])
    return review_card
