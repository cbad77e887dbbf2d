"""Reads for the daily loop. Each selector runs a fixed number of queries, whatever the size of the history.

The learner-facing summaries (Today, the review session, progress, drop states) are cached per learner
(learnpath.cache): each says until when it holds, the services that change a learner's state make it stale.
Reads never write.
"""

from __future__ import annotations

import copy
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db.models import Count, F, Min, Q
from django.urls import reverse

from drops import unlocks
from drops.days import day_start, local_date, next_day_start
from drops.models import DailyActivity, Drop, DropProgress, ReviewCard, ReviewLog, Streak
from drops.scheduling import LEARN_AHEAD, scheduler, to_fsrs
from drops.streaks import REVIEW_SECONDS_CAP, settle_missed_days
from learnpath.cache import content_cached, learner_cached, learner_cached_until
from learnpath.models import Enrollment, Path

ACTIVITY_DAYS = 14
# A drop on the Today page, a card's drop: what is shown of it, not its lesson (which cached plans would carry).
LESSON_FIELDS = ("body_markdown", "body_html", "sections", "source_file")


@dataclass(frozen=True)
class DropState:
    state: str  # "locked" | "available" | "completed"
    unlocks_at: datetime | None
    completed_at: datetime | None
    # Open (available) or completed before unlocks_at, by reading ahead (drops.unlocks).
    read_ahead: bool = False
    # Locked only because today's read-aheads are used up: it opens at the next local midnight.
    read_ahead_limit_reached: bool = False


def drop_states(*, user: User, path: Path, now: datetime) -> dict[int, DropState]:
    """The state of every drop of ``path`` for ``user``, keyed by drop id (cached; two queries when not)."""
    return path_drop_states(user=user, path_id=path.pk, now=now)


def path_drop_states(*, user: User, path_id: int, now: datetime) -> dict[int, DropState]:
    times = learner_cached(
        user_id=user.pk, name=f"drop-times:{path_id}", now=now, compute=lambda: (_drop_times(user, path_id), None)
    )
    drop_ids = content_cached(name=f"path:{path_id}:drop-ids", compute=lambda: _drop_ids(path_id))
    allowance = read_ahead_allowance(user=user, now=now)
    return {drop_id: _state_with_read_ahead(times.get(drop_id), now, allowance) for drop_id in drop_ids}


def _drop_ids(path_id: int) -> list[int]:
    return list(Drop.objects.filter(path_id=path_id).values_list("pk", flat=True))


def _drop_times(user: User, path_id: int) -> dict[int, tuple[datetime, datetime | None]]:
    """When each drop unlocks (or unlocked) and was completed: the states follow from these as time passes."""
    rows = DropProgress.objects.filter(user=user, drop__path_id=path_id)
    return {
        drop_id: (unlocked, completed)
        for drop_id, unlocked, completed in rows.values_list("drop_id", "unlocked_at", "completed_at")
    }


def drop_state(*, user: User, drop: Drop, now: datetime) -> DropState:
    progress = DropProgress.objects.filter(user=user, drop=drop).first()
    if progress is None:
        return _state_of(progress, now)
    allowance = read_ahead_allowance(user=user, now=now)
    return _state_with_read_ahead((progress.unlocked_at, progress.completed_at), now, allowance)


def read_ahead_allowance(*, user: User, now: datetime) -> unlocks.ReadAheadAllowance:
    """How many drops the learner may still read ahead on their current local day (cached; two queries when
    not: the profile, unless it came with the user, and the drops completed ahead of schedule)."""
    from learnpath.selectors import profile_of

    profile = profile_of(user)
    completions = learner_cached(
        user_id=user.pk, name="read-ahead-completions", now=now, compute=lambda: (_read_ahead_completions(user), None)
    )
    return unlocks.read_ahead_allowance(
        per_day=profile.read_ahead_per_day, read_ahead_completions=completions, now=now, zone=profile.zone
    )


def _read_ahead_completions(user: User) -> list[datetime]:
    rows = DropProgress.objects.filter(user=user, completed_at__lt=F("unlocked_at"))
    return list(rows.values_list("completed_at", flat=True))


def _state_with_read_ahead(
    times: tuple[datetime, datetime | None] | None, now: datetime, allowance: unlocks.ReadAheadAllowance
) -> DropState:
    """The drop's state on the schedule (``_state_from``), with what reading ahead changes (drops.unlocks)."""
    state = _state_from(times, now)
    if times is None:
        return state
    unlocked_at, completed_at = times
    if unlocks.is_read_ahead(unlocked_at, completed_at):
        return replace(state, read_ahead=True)
    if state.state == "locked":
        if unlocks.may_read_ahead(unlocked_at=unlocked_at, completed_at=completed_at, now=now, allowance=allowance):
            return DropState("available", unlocked_at, None, read_ahead=True)
        return replace(state, read_ahead_limit_reached=allowance.per_day > 0)
    return state


def _state_of(progress: DropProgress | None, now: datetime) -> DropState:
    return _state_from((progress.unlocked_at, progress.completed_at) if progress else None, now)


def _state_from(times: tuple[datetime, datetime | None] | None, now: datetime) -> DropState:
    if times is None:
        return DropState("locked", None, None)
    unlocked_at, completed_at = times
    if completed_at is not None:
        return DropState("completed", unlocked_at, completed_at)
    if unlocked_at <= now:
        return DropState("available", unlocked_at, None)
    return DropState("locked", unlocked_at, None)


def drop_neighbours(drop: Drop) -> tuple[Drop | None, Drop | None]:
    siblings = Drop.objects.filter(path_id=drop.path_id).only("pk", "title", "position", "path_id")
    previous = siblings.filter(position__lt=drop.position).order_by("-position").first()
    following = siblings.filter(position__gt=drop.position).order_by("position").first()
    return previous, following


# ---------- reviews ----------


def session_horizon(state: int, now: datetime, zone: ZoneInfo) -> datetime:
    """A card is in today's session when due by this moment: Review cards by the end of the local day,
    learning steps (minutes apart) within the learn-ahead window."""
    if state == ReviewCard.State.REVIEW:
        return next_day_start(now, zone)
    return now + LEARN_AHEAD


def reviewable_cards(*, user: User):
    """``user``'s cards that can come up for review: active in the content, not suspended by the learner. Every
    read that selects or counts due cards starts here, so a suspended card is out of all of them."""
    return ReviewCard.objects.filter(user=user, card__is_active=True, suspended_at__isnull=True)


@dataclass(frozen=True)
class DueCounts:
    learning: int  # learning and relearning steps due now (new cards included): never capped
    review: int  # Review cards due today, before the cap
    cap_left: int
    in_session: int  # what is left to do today
    # The session's three counters, as Anki shows them (see docs/architecture.md, "The review session"):
    new: int = 0  # never reviewed
    learning_today: int = 0  # reviewed, in the Learning or Relearning state, due before the local day ends

    @property
    def review_shown(self) -> int:
        """Review cards due today that the daily cap still lets in."""
        return min(self.review, self.cap_left)

    @property
    def capped(self) -> int:
        return max(0, self.review - self.cap_left)


def _session_filters(now: datetime, zone: ZoneInfo) -> tuple[Q, Q]:
    # Learning and Relearning spelled out (not "not Review") so that the (user, state, due) index serves both.
    learning = Q(state__in=LEARNING_STATES, due__lte=now + LEARN_AHEAD)
    review = Q(state=ReviewCard.State.REVIEW, due__lt=next_day_start(now, zone))
    return learning, review


LEARNING_STATES = (ReviewCard.State.LEARNING, ReviewCard.State.RELEARNING)


def due_counts(
    *, user: User, now: datetime, zone: ZoneInfo, cap: int, activity: DailyActivity | None = None
) -> DueCounts:
    """One query (two without ``activity``, today's row)."""
    if activity is None:
        activity = DailyActivity.objects.filter(user=user, date=local_date(now, zone)).first()
    learning, review = _session_filters(now, zone)
    midnight = next_day_start(now, zone)
    counts = reviewable_cards(user=user).aggregate(
        learning=Count("pk", filter=learning),
        review=Count("pk", filter=review),
        new=Count("pk", filter=Q(last_review__isnull=True)),
        learning_today=Count("pk", filter=Q(state__in=LEARNING_STATES, last_review__isnull=False, due__lt=midnight)),
    )
    cap_left = max(0, cap - (activity.capped_reviews_done if activity else 0))
    return DueCounts(
        learning=counts["learning"],
        review=counts["review"],
        cap_left=cap_left,
        in_session=counts["learning"] + min(counts["review"], cap_left),
        new=counts["new"],
        learning_today=counts["learning_today"],
    )


def due_cards(*, user: User, now: datetime, zone: ZoneInfo, counts: DueCounts, limit: int) -> list[ReviewCard]:
    """The next ``limit`` cards of today's session, soonest due first (two queries)."""
    learning, review = _session_filters(now, zone)
    base = reviewable_cards(user=user).select_related("card", "card__drop")
    base = base.defer(*(f"card__drop__{name}" for name in LESSON_FIELDS))
    cards = list(base.filter(learning).order_by("due", "pk")[:limit])
    cards += list(base.filter(review).order_by("due", "pk")[: min(limit, counts.cap_left)])
    cards.sort(key=lambda c: (c.due, c.pk))
    return cards[:limit]


def session_changes_at(*, user: User, now: datetime, zone: ZoneInfo) -> datetime:
    """The first moment at which time alone changes today's session: a learning step comes within the
    learn-ahead window, or the local day ends (Review cards due tomorrow join then). One query."""
    later = reviewable_cards(user=user).filter(state__in=LEARNING_STATES)
    next_due = later.filter(due__gt=now + LEARN_AHEAD).aggregate(due=Min("due"))["due"]
    midnight = next_day_start(now, zone)
    return min(midnight, next_due - LEARN_AHEAD) if next_due else midnight


@dataclass(frozen=True)
class ReviewSession:
    counts: DueCounts
    cards: list[ReviewCard]


def due_session(*, user: User, now: datetime, limit: int) -> ReviewSession:
    """Today's session for the review page and /api/reviews/due/: counts and the next ``limit`` cards (cached;
    four queries when not). Rating a card changes it (the service marks it stale)."""
    return due_session_until(user=user, now=now, limit=limit)[0]


def due_session_until(*, user: User, now: datetime, limit: int) -> tuple[ReviewSession, datetime]:
    from learnpath.selectors import profile_of

    profile = profile_of(user)

    def compute() -> tuple[ReviewSession, datetime]:
        counts = due_counts(user=user, now=now, zone=profile.zone, cap=profile.daily_review_cap)
        cards = due_cards(user=user, now=now, zone=profile.zone, counts=counts, limit=limit)
        return ReviewSession(counts, cards), session_changes_at(user=user, now=now, zone=profile.zone)

    return learner_cached_until(user_id=user.pk, name=f"session:{limit}", now=now, compute=compute)


def review_card_for(*, user: User, review_card_id: int) -> ReviewCard:
    """One of ``user``'s cards; raises ReviewCard.DoesNotExist for anyone else's."""
    return ReviewCard.objects.select_related("card", "card__drop").get(pk=review_card_id, user=user)


def card_in_session(review_card: ReviewCard, now: datetime, zone: ZoneInfo) -> bool:
    """Whether ``review_card`` belongs to today's session (it can be answered and rated now)."""
    return review_card.suspended_at is None and review_card.due <= session_horizon(review_card.state, now, zone)


def choice_order(review_card: ReviewCard) -> list[str]:
    """A multiple-choice card's choices, shuffled afresh for each review of it.

    The shuffle is seeded by the deck card and its last review, so the order holds while the learner answers
    (a reload, the check, the feedback) and changes once the card has been rated.
    """
    choices = list(review_card.card.choices)
    moment = review_card.last_review.isoformat() if review_card.last_review else "new"
    seed = hashlib.sha256(f"{review_card.pk}:{moment}".encode()).digest()
    random.Random(seed).shuffle(choices)
    return choices


# FSRS puts the probability of recall at about 100% right after any review, a failed one included: the
# figure says something only about a card in long-term review (the Review state) whose last review is at
# least this long ago.
RECALL_SHOWN_AFTER = timedelta(days=1)


def recall_is_meaningful(card: ReviewCard | CardMemory, now: datetime) -> bool:
    """Whether "recall now about N%" means something for ``card``: see RECALL_SHOWN_AFTER."""
    return (
        card.state == ReviewCard.State.REVIEW
        and card.last_review is not None
        and now - card.last_review >= RECALL_SHOWN_AFTER
    )


# A pause longer than this between two ratings ends a review session.
SESSION_IDLE_GAP = timedelta(minutes=30)


@dataclass(frozen=True)
class SessionStats:
    """The learner's latest review session today: a run of ratings with no pause over SESSION_IDLE_GAP."""

    reviews: int  # ratings given
    cards: int  # distinct cards rated
    right: int  # checked answers that were right, free-recall cards not rated Again
    seconds: int  # time on the cards, capped per card as for the goal minutes
    started_at: datetime | None
    last_at: datetime | None

    @property
    def accuracy(self) -> int | None:
        return round(100 * self.right / self.reviews) if self.reviews else None

    @property
    def minutes(self) -> int:
        return round(self.seconds / 60)

    def is_active(self, now: datetime) -> bool:
        """Still going: a rating now would continue this session rather than start a new one."""
        return self.last_at is not None and now - self.last_at <= SESSION_IDLE_GAP


def review_session_stats(*, user: User, now: datetime, zone: ZoneInfo) -> SessionStats:
    """Counts, accuracy and time of the latest review session of the learner's local day (one query)."""
    rows = list(
        ReviewLog.objects.filter(user=user, local_date=local_date(now, zone), reviewed_at__lte=now)
        .order_by("reviewed_at", "pk")
        .values_list("review_card_id", "reviewed_at", "rating", "correct", "duration_ms")
    )
    start = 0
    for index in range(1, len(rows)):
        if rows[index][1] - rows[index - 1][1] > SESSION_IDLE_GAP:
            start = index
    run = rows[start:]
    seconds = 0
    for index, (_, reviewed_at, _, _, duration_ms) in enumerate(run):
        if duration_ms is not None:
            seconds += min(duration_ms // 1000, REVIEW_SECONDS_CAP)
        elif index:  # no timing sent (no JavaScript): the time since the previous rating
            seconds += min(int((reviewed_at - run[index - 1][1]).total_seconds()), REVIEW_SECONDS_CAP)
    right = sum(1 for _, _, rating, correct, _ in run if (correct if correct is not None else rating > 1))
    return SessionStats(
        reviews=len(run),
        cards=len({row[0] for row in run}),
        right=right,
        seconds=seconds,
        started_at=run[0][1] if run else None,
        last_at=run[-1][1] if run else None,
    )


@dataclass(frozen=True)
class ReviewOutlook:
    next_due: datetime | None  # when the next card of the deck comes due
    due_by_tomorrow: int  # cards due before the end of the learner's next local day


def review_outlook(*, user: User, now: datetime, zone: ZoneInfo) -> ReviewOutlook:
    """What comes next in the deck (one query)."""
    end_of_tomorrow = next_day_start(next_day_start(now, zone), zone)
    row = reviewable_cards(user=user).aggregate(
        next_due=Min("due"), due_by_tomorrow=Count("pk", filter=Q(due__lt=end_of_tomorrow))
    )
    return ReviewOutlook(next_due=row["next_due"], due_by_tomorrow=row["due_by_tomorrow"])


# ---------- streak ----------


def drop_link_resolver(*, path_id: int) -> Callable[[str], str | None]:
    """Turns the ``drop:<slug>`` links of lessons in a path into reader URLs (one query, then a lookup)."""
    ids = dict(Drop.objects.filter(path_id=path_id).values_list("slug", "pk"))

    def resolve(slug: str) -> str | None:
        return reverse("drop", args=[ids[slug]]) if slug in ids else None

    return resolve


@dataclass(frozen=True)
class StreakView:
    current: int
    longest: int
    freezes: int
    today_counts: bool
    last_day: date | None


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
        for pk, added in ReviewCard.objects.filter(
            user_id=user_id, added_at__lt=end, suspended_at__isnull=True
        ).values_list("pk", "added_at")
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


def streak_view(streak: Streak | None, today: date) -> StreakView:
    """The streak as it stands today: days missed since the last one that counted spend freezes (read-only)."""
    if streak is None:
        return StreakView(0, 0, 0, False, None)
    zone = ZoneInfo(streak.zone_name or "UTC")
    settled = copy.copy(streak)
    settle_missed_days(settled, today, rest_days_before(streak=streak, today=today, zone=zone))
    return StreakView(
        current=settled.current,
        longest=streak.longest,
        freezes=settled.freezes,
        today_counts=streak.last_day == today,
        last_day=streak.last_day,
    )


# ---------- Today ----------


@dataclass
class TodayPlan:
    now: datetime
    today: date
    enrolled: bool
    new_drop: Drop | None
    new_drop_completed_today: bool
    next_unlock_at: datetime | None
    next_drop: Drop | None
    path_finished: bool
    counts: DueCounts
    first_cards: list[ReviewCard]
    minutes: int
    seconds: int
    goal_minutes: int
    streak: StreakView
    timezone: str
    paths: list[Path] = field(default_factory=list)
    # Reading ahead (drops.unlocks): the drop that may be opened now, ahead of schedule, once nothing waits.
    read_ahead_drop: Drop | None = None
    read_ahead_left: int = 0
    read_ahead_per_day: int = 0
    # Drops due to unlock today that were read ahead on an earlier day: today is for the reviews.
    read_ahead_for_today: list[ReadAheadDrop] = field(default_factory=list)


@dataclass(frozen=True)
class ReadAheadDrop:
    drop: Drop
    read_on: date  # the local day it was completed
    unlock_day: date  # the local day it would have unlocked


def today_plan(*, user: User, now: datetime, first_cards: int = 5) -> TodayPlan:
    """Everything the Today page and /api/today/ show (cached; at most twelve queries when not, whatever the
    deck or history).

    With several paths, the new drop is the one that has waited longest; a finished path leaves the reviews.
    The plan holds until the learner next changes something or time alone moves it: a drop unlocks, a
    learning step comes due, the local day ends.
    """
    plan = today_plan_until(user=user, now=now, first_cards=first_cards)[0]
    plan.now = now
    return plan


def today_plan_until(*, user: User, now: datetime, first_cards: int = 5) -> tuple[TodayPlan, datetime]:
    return learner_cached_until(
        user_id=user.pk,
        name=f"today:{first_cards}",
        now=now,
        compute=lambda: _today_plan(user=user, now=now, first_cards=first_cards),
    )


def _today_plan(*, user: User, now: datetime, first_cards: int) -> tuple[TodayPlan, datetime]:
    from learnpath.selectors import profile_of

    profile = profile_of(user)  # 1, unless it came with the user
    zone = profile.zone
    today = local_date(now, zone)
    paths = [e.path for e in Enrollment.objects.filter(user=user).select_related("path").order_by("enrolled_at")]
    rows = list(  # 3
        DropProgress.objects.filter(user=user)
        .select_related("drop", "drop__path")
        .defer(*(f"drop__{name}" for name in LESSON_FIELDS))
        .order_by("unlocked_at")
    )
    available = [p for p in rows if p.completed_at is None and p.unlocked_at <= now]
    pending = [p for p in rows if p.completed_at is None and p.unlocked_at > now]
    completed_today = [p for p in rows if p.completed_at and local_date(p.completed_at, zone) == today]
    activity = DailyActivity.objects.filter(user=user, date=today).first()  # 4
    streak = Streak.objects.filter(user=user).first()  # 5
    counts = due_counts(user=user, now=now, zone=zone, cap=profile.daily_review_cap, activity=activity)  # 6
    cards = due_cards(user=user, now=now, zone=zone, counts=counts, limit=first_cards) if first_cards else []  # 8
    seconds = activity.seconds if activity else 0
    new_drop = available[0].drop if available else None
    changes_at = session_changes_at(user=user, now=now, zone=zone)  # 9
    if pending:
        changes_at = min(changes_at, pending[0].unlocked_at)
    plan = TodayPlan(
        now=now,
        today=today,
        enrolled=bool(paths),
        new_drop=new_drop,
        new_drop_completed_today=bool(completed_today),
        next_unlock_at=pending[0].unlocked_at if pending else None,
        next_drop=pending[0].drop if pending else None,
        path_finished=bool(rows) and not available and not pending,
        counts=counts,
        first_cards=cards,
        minutes=seconds // 60,
        seconds=seconds,
        goal_minutes=profile.daily_goal_minutes,
        streak=streak_view(streak, today),  # 10-12 after missed days: were they rest days?
        timezone=profile.timezone,
        paths=paths,
    )
    _plan_read_ahead(plan, rows=rows, pending=pending, per_day=profile.read_ahead_per_day, zone=zone)
    return plan, changes_at


def _plan_read_ahead(plan: TodayPlan, *, rows: list[DropProgress], pending: list[DropProgress], per_day, zone):
    """What Today says of reading ahead, from the progress rows it already read (no query). It holds until the
    local day ends, as the plan does."""
    early = [p for p in rows if unlocks.is_read_ahead(p.unlocked_at, p.completed_at)]
    allowance = unlocks.read_ahead_allowance(
        per_day=per_day, read_ahead_completions=[p.completed_at for p in early], now=plan.now, zone=zone
    )
    plan.read_ahead_per_day = allowance.per_day
    plan.read_ahead_left = allowance.left
    if plan.new_drop is None and pending:
        first = pending[0]
        if unlocks.may_read_ahead(
            unlocked_at=first.unlocked_at, completed_at=first.completed_at, now=plan.now, allowance=allowance
        ):
            plan.read_ahead_drop = first.drop
    plan.read_ahead_for_today = [
        ReadAheadDrop(p.drop, local_date(p.completed_at, zone), local_date(p.unlocked_at, zone))
        for p in early
        if local_date(p.unlocked_at, zone) == plan.today and local_date(p.completed_at, zone) < plan.today
    ]


# ---------- progress ----------


class CardMemory(NamedTuple):
    """What retrievability is worked out from (the FSRS fields of a ReviewCard), small enough to cache."""

    pk: int
    state: int
    step: int | None
    stability: float | None
    difficulty: float | None
    due: datetime
    last_review: datetime | None

    @classmethod
    def of(cls, card: ReviewCard) -> CardMemory:
        return cls(card.pk, card.state, card.step, card.stability, card.difficulty, card.due, card.last_review)


def recall_changes_at(cards: list[CardMemory], now: datetime) -> datetime | None:
    """The first moment after ``now`` at which time alone changes a card's probability of recall, or None.

    FSRS works recall out from the whole days elapsed since the last review, so it steps once a day, on the
    hour of that review, and it is shown once ``RECALL_SHOWN_AFTER`` has passed: a value that shows recall
    holds until the earliest such moment among its cards.
    """
    steps = []
    for card in cards:
        if card.last_review is not None:
            steps.append(card.last_review + timedelta(days=max(0, (now - card.last_review).days) + 1))
            if card.last_review + RECALL_SHOWN_AFTER > now:
                steps.append(card.last_review + RECALL_SHOWN_AFTER)
    return min(steps, default=None)


def progress_summary(*, user: User, now: datetime) -> dict:
    """Per-phase completion, a 14-day activity series, streaks, reviews and retention.

    Cached until the local day ends or the learner next changes something (at most twelve queries when not);
    retention, which moves with time, is worked out from the cached card states on every read, and the
    challenges' standings are read fresh (two queries): verdicts arrive from the grading workers.
    """
    summary = progress_summary_until(user=user, now=now)[0]
    return {**summary, "average_retrievability": average_retrievability(summary["reviewed_cards"], now)}


def progress_summary_until(*, user: User, now: datetime) -> tuple[dict, datetime]:
    """The cached summary without its retention, with ``reviewed_cards`` to work it out from, and its expiry."""
    return learner_cached_until(
        user_id=user.pk, name="progress", now=now, compute=lambda: _progress(user=user, now=now)
    )


def average_retrievability(cards: list[CardMemory], now: datetime) -> float | None:
    """The mean probability of recall now (FSRS) of the cards for which it means something
    (``recall_is_meaningful``: in long-term review, last reviewed a day ago or more); None when there are none."""
    fsrs_scheduler = scheduler()
    fsrs_now = to_fsrs_now(now)
    values = [
        fsrs_scheduler.get_card_retrievability(to_fsrs(card), fsrs_now)
        for card in cards
        if recall_is_meaningful(card, now)
    ]
    return (sum(values) / len(values)) if values else None


def _progress(*, user: User, now: datetime) -> tuple[dict, datetime]:
    from learnpath.selectors import profile_of

    profile = profile_of(user)  # 1, unless it came with the user
    zone = profile.zone
    today = local_date(now, zone)
    enrolled = list(Enrollment.objects.filter(user=user).order_by("enrolled_at").values_list("path_id", flat=True))
    drops = list(  # 3
        Drop.objects.filter(path_id__in=enrolled)
        .select_related("path", "phase")
        .only("pk", "title", "position", "path__slug", "path__title", "phase__slug", "phase__title", "phase__position")
        .order_by("path_id", "position")
    )
    finished = DropProgress.objects.filter(user=user, completed_at__isnull=False)  # 4
    rows = finished.values_list("drop_id", "unlocked_at", "completed_at")
    times = {drop_id: (unlocked, completed) for drop_id, unlocked, completed in rows}
    done = {drop_id: completed for drop_id, (_, completed) in times.items()}
    paths: dict[int, dict] = {}
    for drop in drops:
        entry = paths.setdefault(
            drop.path_id,
            {"slug": drop.path.slug, "title": drop.path.title, "drops_done": 0, "drops_total": 0, "phases": {}},
        )
        phase = entry["phases"].setdefault(
            drop.phase_id,
            {"slug": drop.phase.slug, "title": drop.phase.title, "position": drop.phase.position, "done": 0,
             "total": 0},
        )  # fmt: skip
        entry["drops_total"] += 1
        phase["total"] += 1
        if drop.pk in done:
            entry["drops_done"] += 1
            phase["done"] += 1
    read_ahead = [
        {
            "drop_id": drop.pk,
            "path": drop.path.slug,
            "position": drop.position,
            "title": drop.title,
            "read_on": local_date(times[drop.pk][1], zone),
            "unlock_day": local_date(times[drop.pk][0], zone),
        }
        for drop in drops
        if drop.pk in times and unlocks.is_read_ahead(*times[drop.pk])
    ]
    path_rows = [
        {**entry, "phases": sorted(entry["phases"].values(), key=lambda p: p["position"])}
        for path_id, entry in sorted(paths.items(), key=lambda item: enrolled.index(item[0]))
    ]

    first_day = today - timedelta(days=ACTIVITY_DAYS - 1)
    by_day = {a.date: a for a in DailyActivity.objects.filter(user=user, date__gte=first_day, date__lte=today)}  # 5
    activity = []
    for offset in range(ACTIVITY_DAYS):
        day = first_day + timedelta(days=offset)
        row = by_day.get(day)
        activity.append(
            {
                "date": day,
                "minutes": (row.seconds // 60) if row else 0,
                "reviews": row.reviews_done if row else 0,
                "drops_completed": row.drops_completed if row else 0,
                "counts_for_streak": bool(row and row.counts_for_streak),
                "goal_met": bool(row and row.seconds >= profile.daily_goal_minutes * 60),
            }
        )
    streak = streak_view(Streak.objects.filter(user=user).first(), today)  # 6 (9-11 after missed days)
    reviews_done = ReviewLog.objects.filter(user=user).count()  # 7
    reviewed = [
        CardMemory(*row)
        for row in reviewable_cards(user=user)
        .filter(last_review__isnull=False)
        .values_list(  # 8
            "pk", "state", "step", "stability", "difficulty", "due", "last_review"
        )
    ]
    deck_size = reviewable_cards(user=user).count()  # 9
    summary = {
        "paths": path_rows,
        "drops_done": sum(p["drops_done"] for p in path_rows),
        "drops_total": sum(p["drops_total"] for p in path_rows),
        "read_ahead": read_ahead,
        "activity": activity,
        "goal_minutes": profile.daily_goal_minutes,
        "streak": streak,
        "reviews_done": reviews_done,
        "cards_in_deck": deck_size,
        "cards_reviewed": len(reviewed),
        "reviewed_cards": reviewed,
        # Verdicts come from the grading workers: a saved submission marks this stale (learnpath.apps).
        "challenges": challenge_status(user),  # 10-11
    }
    return summary, next_day_start(now, zone)


def to_fsrs_now(now: datetime) -> datetime:
    from drops.days import to_utc

    return to_utc(now)


def challenge_status(user: User) -> list[dict]:
    """The learner's code challenges (slug, title, drop_id, status, best_score, attempts, url)."""
    from challenges.selectors import challenge_progress

    return list(challenge_progress(user=user))


# ---------- the learner's own cards ----------

CARD_FILTER_STATES = ("new", "learning", "review", "suspended")


def card_list_state(review_card: ReviewCard) -> str:
    """Where a card stands for the learner: "suspended", "new" (never reviewed), "learning" (Learning or
    Relearning) or "review"."""
    if review_card.suspended_at is not None:
        return "suspended"
    if review_card.last_review is None:
        return "new"
    return "review" if review_card.state == ReviewCard.State.REVIEW else "learning"


def card_list(*, user: User, drop_id: int | None = None, state: str | None = None):
    """Every card in ``user``'s deck (retired cards left out), in the order of the path, optionally of one
    drop and in one of CARD_FILTER_STATES. A queryset: the caller pages it."""
    cards = (
        ReviewCard.objects.filter(user=user, card__is_active=True)
        .select_related("card", "card__drop")
        .defer(*(f"card__drop__{name}" for name in LESSON_FIELDS))
        .order_by("card__drop__path_id", "card__drop__position", "card__position", "pk")
    )
    if drop_id is not None:
        cards = cards.filter(card__drop_id=drop_id)
    active = Q(suspended_at__isnull=True)
    if state == "suspended":
        cards = cards.filter(suspended_at__isnull=False)
    elif state == "new":
        cards = cards.filter(active, last_review__isnull=True)
    elif state == "learning":
        cards = cards.filter(active, last_review__isnull=False, state__in=LEARNING_STATES)
    elif state == "review":
        cards = cards.filter(active, last_review__isnull=False, state=ReviewCard.State.REVIEW)
    return cards


def card_list_drops(*, user: User) -> list[Drop]:
    """The drops that have cards in ``user``'s deck, in path order (for the Cards page's filter)."""
    return list(
        Drop.objects.filter(cards__review_cards__user=user, cards__is_active=True)
        .distinct()
        .only("pk", "title", "position", "path_id")
        .order_by("path_id", "position")
    )


def practice_cards(*, user: User, drop: Drop) -> list[ReviewCard]:
    """The cards of ``drop`` in ``user``'s deck that a practice run goes through (suspended ones left out)."""
    return list(
        reviewable_cards(user=user)
        .filter(card__drop=drop)
        .select_related("card", "card__drop")
        .order_by("card__position", "pk")
    )
