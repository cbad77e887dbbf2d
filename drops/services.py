"""State changes for the daily loop: unlocking, completing drops, reviews, goal minutes and streaks.

Every write here first locks the learner's Streak row, so two requests from one learner (a double click, two
tabs) run one after the other; unique constraints back that up.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import fsrs
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from drops import unlocks
from drops.days import day_start, local_date, next_day_start, to_utc
from drops.models import DailyActivity, Drop, DropProgress, RecallCard, ReviewCard, ReviewLog, Streak
from drops.selectors import recall_is_meaningful
from learnpath.models import Path

logger = logging.getLogger(__name__)

# Client-reported time is capped per action so that the goal cannot be inflated.
REVIEW_SECONDS_CAP = 120
READING_CAP_FACTOR = 3  # a drop counts for at most three times its estimated minutes
READING_SECONDS_FLOOR_CAP = 15 * 60
# Learning steps are minutes apart: a card due within this window stays in today's session, as in Anki.
LEARN_AHEAD = timedelta(minutes=20)
FREEZE_EVERY_DAYS = 7
MAX_FREEZES = 2
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


# ---------- the scheduler ----------


@dataclass(frozen=True)
class AcceptedParameters:
    fit_id: int | None  # None: py-fsrs's defaults, no accepted fit
    parameters: tuple[float, ...]
    looked_up_at: float  # time.monotonic()


_accepted: AcceptedParameters | None = None
_schedulers: dict[tuple, fsrs.Scheduler] = {}
_SCHEDULERS_KEPT = 64  # learners choose their retention freely: the memo is emptied when it grows past this


def scheduler(*, desired_retention: float | None = None) -> fsrs.Scheduler:
    """The FSRS scheduler for a desired retention (the platform's FSRS_DESIRED_RETENTION when None), with the
    parameters of the newest accepted fit (py-fsrs's defaults until one is accepted: drops.fsrs_fit).

    Every read that shows recall calls this, so it makes no query and builds nothing on most calls: the
    accepted parameters are looked up once per process and then at most every FSRS_PARAMETERS_RECHECK_SECONDS
    (at once after a fit made in this process), and one scheduler is kept per (parameters, retention, fuzzing).
    Retrievability depends on the parameters only, so a read that shows recall needs no learner.
    """
    accepted = accepted_parameters()
    retention = settings.FSRS_DESIRED_RETENTION if desired_retention is None else float(desired_retention)
    fuzzing = settings.FSRS_FUZZING
    key = (accepted.parameters, retention, fuzzing)
    found = _schedulers.get(key)
    if found is None:
        if len(_schedulers) >= _SCHEDULERS_KEPT:
            _schedulers.clear()
        found = _schedulers[key] = fsrs.Scheduler(
            parameters=accepted.parameters, desired_retention=retention, enable_fuzzing=fuzzing
        )
    return found


def accepted_parameters() -> AcceptedParameters:
    """The parameters the scheduler uses now: the newest accepted FsrsFit's, or py-fsrs's defaults."""
    global _accepted
    current = _accepted
    recheck = settings.FSRS_PARAMETERS_RECHECK_SECONDS
    if current is not None and (recheck is None or time.monotonic() - current.looked_up_at < recheck):
        return current
    _accepted = current = _accepted_lookup()
    return current


def scheduler_parameters_changed() -> None:
    """A fit was accepted, or an operator changed which one is used: look the parameters up again on next use
    (now, and again when the current transaction commits)."""

    def forget() -> None:
        global _accepted
        _accepted = None

    forget()
    transaction.on_commit(forget)


def _accepted_lookup() -> AcceptedParameters:
    from drops.models import FsrsFit

    defaults = tuple(fsrs.scheduler.DEFAULT_PARAMETERS)
    row = FsrsFit.objects.filter(accepted=True).order_by("-fitted_at", "-pk").values_list("pk", "parameters").first()
    if row is not None:
        try:
            parameters = tuple(float(value) for value in row[1])
            fsrs.Scheduler(parameters=parameters)  # checks their number and bounds for this py-fsrs
        except (TypeError, ValueError) as error:
            # Fitted by another py-fsrs version (another number of parameters): the defaults are safe.
            logger.warning("FSRS fit %s is not usable with this py-fsrs (%s): using the defaults", row[0], error)
        else:
            return AcceptedParameters(row[0], parameters, time.monotonic())
    return AcceptedParameters(None, defaults, time.monotonic())


def interval_days(*, stability_days: float, desired_retention: float) -> float:
    """The interval FSRS gives a card of this stability (its interval at 90%) at ``desired_retention``."""
    decay = -accepted_parameters().parameters[20]
    factor = 0.9 ** (1 / decay) - 1
    return stability_days / factor * (desired_retention ** (1 / decay) - 1)


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
    from learnpath.services import profile_for

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
    from learnpath.services import profile_for

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
    new_cards = [
        ReviewCard(user=user, card_id=pk, state=ReviewCard.State.LEARNING, step=0, due=now, added_at=now)
        for pk in card_ids
        if pk not in existing
    ]
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
    from certificates.services import certificate_check_on_commit

    certificate_check_on_commit(user_id=user.pk, path_id=drop.path_id)  # the last drop may finish the path
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


def to_fsrs(review_card: ReviewCard) -> fsrs.Card:
    return fsrs.Card(
        card_id=review_card.pk,
        state=fsrs.State(review_card.state),
        step=review_card.step,
        stability=review_card.stability,
        difficulty=review_card.difficulty,
        due=to_utc(review_card.due),
        last_review=to_utc(review_card.last_review) if review_card.last_review else None,
    )


def retrievability(review_card: ReviewCard, now: datetime, fsrs_scheduler: fsrs.Scheduler | None = None) -> float:
    """Probability of recall now; 0 for a card never reviewed."""
    if review_card.last_review is None:
        return 0.0
    return float((fsrs_scheduler or scheduler()).get_card_retrievability(to_fsrs(review_card), to_utc(now)))


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
    from drops.selectors import due_counts
    from learnpath.services import profile_for

    now = now or timezone.now()
    profile = profile_for(user)
    streak = _lock_learner(user)
    review_card = ReviewCard.objects.select_for_update().select_related("card").get(pk=review_card_id, user=user)
    if not _in_session(review_card, now, profile.zone):
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
    from drops.selectors import session_horizon

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
    from learnpath.services import profile_for

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


def streak_count_day(streak: Streak, day: date, rest: frozenset[date] = frozenset()) -> None:
    """Count ``day``: freezes cover missed days in between (one each); without enough, the streak restarts.

    ``rest`` holds days on which nothing was waiting: skipping them is no lapse.
    """
    if streak.last_day is not None and day <= streak.last_day:
        return
    settle_missed_days(streak, day, rest)
    streak.current += 1
    if streak.current % FREEZE_EVERY_DAYS == 0 and streak.freezes < MAX_FREEZES:
        streak.freezes += 1
    streak.longest = max(streak.longest, streak.current)
    streak.last_day = day


def settle_missed_days(streak: Streak, today: date, rest: frozenset[date] = frozenset()) -> None:
    """Spend freezes on the days missed between the last counted day and ``today`` (in place, not saved).

    Days in ``rest`` (nothing was waiting) are not missed: they neither grow nor break the streak.
    """
    if streak.last_day is None:
        return
    gap = (today - streak.last_day).days - 1
    missed = sum(1 for n in range(1, gap + 1) if streak.last_day + timedelta(days=n) not in rest)
    if missed <= 0:
        return
    if missed <= streak.freezes:
        streak.freezes -= missed
        streak.freezes_used += missed
        streak.last_day = today - timedelta(days=1)
    else:
        streak.freezes_used += streak.freezes
        streak.freezes = 0
        streak.current = 0


# Rest days are looked for in at most this many days before today; older gaps count as missed.
REST_DAY_WINDOW = 366


def rest_days_before(*, streak: Streak, today: date, zone: ZoneInfo) -> frozenset[date]:
    """The days between the streak's last counted day and ``today`` on which nothing was waiting."""
    if streak.last_day is None or streak.user_id is None or (today - streak.last_day).days <= 1:
        return frozenset()
    first = max(streak.last_day + timedelta(days=1), today - timedelta(days=REST_DAY_WINDOW))
    return rest_days(user_id=streak.user_id, zone=zone, first=first, last=today - timedelta(days=1))


def rest_days(*, user_id: int, zone: ZoneInfo, first: date, last: date) -> frozenset[date]:
    """Local days in [first, last] with no drop available and no review due: nothing to do, nothing missed.

    Reconstructed from history (three queries): a drop was waiting if it had unlocked and was not yet
    completed; a card was due if the due date in force at the start of the day (its ``due_after`` from the
    last review before then, or the moment it was added) fell before the day's end.
    """
    if last < first:
        return frozenset()
    start, end = day_start(first, zone), day_start(last + timedelta(days=1), zone)
    drops = list(
        DropProgress.objects.filter(user_id=user_id, unlocked_at__lt=end)
        .filter(Q(completed_at__isnull=True) | Q(completed_at__gte=start))
        .values_list("unlocked_at", "completed_at")
    )
    timelines: dict[int, list[tuple[datetime, datetime]]] = {
        pk: [(added, added)]
        for pk, added in ReviewCard.objects.filter(user_id=user_id, added_at__lt=end).values_list("pk", "added_at")
    }
    logs = ReviewLog.objects.filter(user_id=user_id, reviewed_at__lt=end).order_by("reviewed_at", "pk")
    for card_id, reviewed_at, due_after in logs.values_list("review_card_id", "reviewed_at", "due_after"):
        if card_id in timelines:
            timelines[card_id].append((reviewed_at, due_after))

    def due_at(timeline: list[tuple[datetime, datetime]], moment: datetime) -> datetime:
        due = timeline[0][1]
        for since, value in timeline:
            if since > moment:
                break
            due = value
        return due

    rest = set()
    day = first
    while day <= last:
        s, e = day_start(day, zone), day_start(day + timedelta(days=1), zone)
        drop_waiting = any(unlocked < e and (done is None or done >= s) for unlocked, done in drops)
        card_due = any(line[0][0] < e and due_at(line, s) < e for line in timelines.values())
        if not drop_waiting and not card_due:
            rest.add(day)
        day += timedelta(days=1)
    return frozenset(rest)


def _lock_learner(user: User) -> Streak:
    """Lock the learner's row before a daily-loop write, and mark their cached summaries stale.

    Every service here that changes a learner's state comes through this first, so it is the one place the
    learner's cached Today, review session, progress and outline (learnpath.cache) are invalidated.
    """
    from learnpath.cache import learner_changed
    from learnpath.services import profile_for

    learner_changed(user.pk)
    Streak.objects.get_or_create(user=user, defaults={"zone_name": profile_for(user).timezone})
    return Streak.objects.select_for_update().get(user=user)
