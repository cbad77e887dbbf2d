"""FSRS fitted to our learners: py-fsrs's optimizer run on the stored review logs, checked on reviews it never saw.

Card histories (every rating of one card in one learner's deck, in order) are split by card into a training part
and a held-out part (FSRS_FIT_HELD_OUT of the cards). The optimizer fits the parameters on the training part;
both the fitted and py-fsrs's default parameters then predict each held-out review's recall, and the fit is
accepted, and used by the scheduler from then on, only if its log loss there is lower (by at least
FSRS_FIT_MIN_IMPROVEMENT). Every fit is stored as an FsrsFit row with its figures, accepted or not.

The optimizer needs torch: it is imported only inside :func:`fsrs_fit`, which runs in a Celery worker (the
daily ``drops.fit_fsrs_parameters`` task) or in ``manage.py fit_fsrs``, never in a web or beat process.
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import fsrs
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Max
from django.db.models.functions import Mod
from django.utils import timezone

from drops.days import to_utc
from drops.models import FsrsFit, ReviewLog

# py-fsrs's optimizer fits nothing (it returns the defaults) with fewer reviews than this.
OPTIMIZER_MIN_REVIEWS = 512
# The optimizer learns from the first 64 reviews of each card; the log loss is scored on the same reviews.
SEQUENCE_LIMIT = 64
_EPSILON = 1e-12
_LOCK_KEY = "drops:fsrs-fit:running"
_LOCK_SECONDS = 6 * 60 * 60


class FitSkipped(Exception):
    """No fit was made; ``message`` says why, for the operator."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotEnoughReviews(FitSkipped):
    pass


class NoNewReviews(FitSkipped):
    pass


class FitAlreadyRunning(FitSkipped):
    pass


class OptimizerMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class CardHistory:
    card_id: int
    user_id: int
    reviews: tuple[tuple[datetime, int, int | None], ...]  # (reviewed_at in UTC, rating 1–4, duration in ms)


def fsrs_fit(*, epochs: int | None = None, only_if_new: bool = False, now: datetime | None = None) -> FsrsFit:
    """Fit the FSRS parameters to the stored review logs, evaluate them on held-out cards and store the fit.

    Raises NotEnoughReviews below FSRS_FIT_MIN_LOGS logs (at least 512) or too few reviews a day apart,
    NoNewReviews with ``only_if_new`` when nothing was reviewed since the last fit, FitAlreadyRunning while
    another fit runs, and OptimizerMissing when py-fsrs's optimizer (``fsrs[optimizer]``) is not installed.
    """
    if not cache.add(_LOCK_KEY, True, timeout=_LOCK_SECONDS):
        raise FitAlreadyRunning("Another FSRS fit is running; this one was not started.")
    try:
        return _fit(epochs=epochs or settings.FSRS_FIT_EPOCHS, only_if_new=only_if_new, now=now)
    finally:
        cache.delete(_LOCK_KEY)


def _fit(*, epochs: int, only_if_new: bool, now: datetime | None) -> FsrsFit:
    started = time.perf_counter()
    min_logs = max(settings.FSRS_FIT_MIN_LOGS, OPTIMIZER_MIN_REVIEWS)
    stored = ReviewLog.objects.aggregate(total=Count("pk"), newest=Max("pk"))
    total, newest = stored["total"], stored["newest"] or 0
    if total < min_logs:
        raise NotEnoughReviews(
            f"{total} review logs are stored; fitting FSRS needs at least {min_logs}. "
            "The scheduler keeps its current parameters."
        )
    last = FsrsFit.objects.order_by("-fitted_at", "-pk").first()
    if only_if_new and last is not None and last.newest_log_id >= newest:
        raise NoNewReviews(f"No review since the last fit ({last.fitted_at:%Y-%m-%d %H:%M} UTC); nothing to refit.")

    histories = review_histories(max_logs=settings.FSRS_FIT_MAX_LOGS, total=total, up_to_log_id=newest)
    train, held_out = split_histories(histories, held_out_share=settings.FSRS_FIT_HELD_OUT)
    train_reviews, held_out_reviews = scored_reviews(train), scored_reviews(held_out)
    if train_reviews < OPTIMIZER_MIN_REVIEWS:
        raise NotEnoughReviews(
            f"{total} review logs are stored, but only {train_reviews} of the training reviews came a day or more "
            f"after the card's previous review; py-fsrs's optimizer needs at least {OPTIMIZER_MIN_REVIEWS}. "
            "The scheduler keeps its current parameters."
        )
    if held_out_reviews == 0:
        raise NotEnoughReviews(
            "No held-out review came a day or more after the card's previous review: the fit could not be "
            "evaluated. The scheduler keeps its current parameters."
        )

    defaults = list(fsrs.scheduler.DEFAULT_PARAMETERS)
    fitted = [float(value) for value in optimize(train, epochs=epochs)]
    held_out_loss = log_loss(held_out, fitted)
    default_loss = log_loss(held_out, defaults)
    accepted = held_out_loss < default_loss - settings.FSRS_FIT_MIN_IMPROVEMENT
    with transaction.atomic():
        fit = FsrsFit.objects.create(
            fitted_at=now or timezone.now(),
            parameters=fitted,
            default_parameters=defaults,
            fsrs_version=_fsrs_version(),
            accepted=accepted,
            logs_total=total,
            logs_used=sum(len(h.reviews) for h in histories),
            newest_log_id=newest,
            learners=len({h.user_id for h in histories}),
            train_logs=sum(len(h.reviews) for h in train),
            train_reviews=train_reviews,
            held_out_logs=sum(len(h.reviews) for h in held_out),
            held_out_reviews=held_out_reviews,
            held_out_log_loss=held_out_loss,
            default_held_out_log_loss=default_loss,
            train_log_loss=log_loss(train, fitted),
            epochs=epochs,
            seconds=round(time.perf_counter() - started, 2),
        )
        if accepted:
            fsrs_fit_used_changed()
    return fit


def fsrs_fit_used_changed() -> None:
    """Which parameters the scheduler uses changed: every process looks them up again, cached reads go stale."""
    from drops.scheduling import scheduler_parameters_changed
    from learnpath.cache import content_changed

    scheduler_parameters_changed()
    content_changed()  # cached summaries hold when recall next steps, worked out with the old parameters


def review_histories(*, max_logs: int, total: int, up_to_log_id: int) -> list[CardHistory]:
    """Every card's history of ratings, or, above ``max_logs`` logs, the whole histories of every k-th card."""
    logs = ReviewLog.objects.filter(pk__lte=up_to_log_id)
    every = max(1, math.ceil(total / max(1, max_logs)))
    if every > 1:
        logs = logs.alias(sample=Mod("review_card_id", every)).filter(sample=0)
    rows = logs.order_by("review_card_id", "reviewed_at", "pk").values_list(
        "review_card_id", "user_id", "reviewed_at", "rating", "duration_ms"
    )
    histories: list[CardHistory] = []
    current: list = []
    for card_id, user_id, reviewed_at, rating, duration_ms in rows.iterator(chunk_size=5000):
        if current and current[0][0] != card_id:
            histories.append(_history(current))
            current = []
        current.append((card_id, user_id, reviewed_at, rating, duration_ms))
    if current:
        histories.append(_history(current))
    return histories


def _history(rows: list) -> CardHistory:
    return CardHistory(rows[0][0], rows[0][1], tuple((to_utc(at), rating, ms) for _, _, at, rating, ms in rows))


def split_histories(
    histories: Sequence[CardHistory], *, held_out_share: float
) -> tuple[list[CardHistory], list[CardHistory]]:
    """(training, held out): each card's whole history on one side, chosen by a hash of its id (reproducible)."""
    threshold = max(0.0, min(held_out_share, 0.9)) * 2**32
    train: list[CardHistory] = []
    held_out: list[CardHistory] = []
    for history in histories:
        (held_out if zlib.crc32(f"card:{history.card_id}".encode()) < threshold else train).append(history)
    return train, held_out


def _scored(history: CardHistory, fsrs_scheduler: fsrs.Scheduler) -> Iterable[tuple[fsrs.Card, datetime, int]]:
    """Replay a history: (the card before the review, when, rating) for each review a day or more after the last.

    The optimizer scores exactly these (the same-day steps of learning teach it nothing about forgetting).
    """
    card = None
    for at, rating, _ in history.reviews[:SEQUENCE_LIMIT]:
        if card is None:
            card = fsrs.Card(card_id=history.card_id, due=at)
        elif card.last_review is not None and (at - card.last_review).days > 0:
            yield card, at, rating
        card, _ = fsrs_scheduler.review_card(card, fsrs.Rating(rating), review_datetime=at)


def scored_reviews(histories: Iterable[CardHistory]) -> int:
    """How many reviews the optimizer and the log loss count (a day or more after the card's previous one)."""
    fsrs_scheduler = fsrs.Scheduler(enable_fuzzing=False)
    return sum(1 for history in histories for _ in _scored(history, fsrs_scheduler))


def log_loss(histories: Iterable[CardHistory], parameters: Sequence[float]) -> float:
    """Mean binary cross-entropy of the predicted recall against what happened (recalled: any rating but Again)."""
    fsrs_scheduler = fsrs.Scheduler(parameters=tuple(parameters), enable_fuzzing=False)
    loss, count = 0.0, 0
    for history in histories:
        for card, at, rating in _scored(history, fsrs_scheduler):
            recall = min(max(float(fsrs_scheduler.get_card_retrievability(card, at)), _EPSILON), 1 - _EPSILON)
            loss -= math.log(recall if rating != ReviewLog.Rating.AGAIN else 1 - recall)
            count += 1
    return loss / count if count else math.nan


def optimize(histories: Iterable[CardHistory], *, epochs: int) -> list[float]:
    """py-fsrs's optimizer on these histories: the fitted parameters."""
    try:
        from fsrs import optimizer as fsrs_optimizer  # imports torch: workers and the command only
    except ImportError as error:
        raise OptimizerMissing(f"py-fsrs's optimizer cannot be imported ({error}).") from error
    logs = [
        fsrs.ReviewLog(card_id=h.card_id, rating=fsrs.Rating(rating), review_datetime=at, review_duration=ms)
        for h in histories
        for at, rating, ms in h.reviews
    ]
    # py-fsrs reads its epoch count from a module global; it is set for this run and put back after.
    saved = getattr(fsrs_optimizer, "num_epochs", None)
    if saved is None:
        raise OptimizerMissing('py-fsrs\'s optimizer is not installed: pip install "fsrs[optimizer]" (make setup).')
    fsrs_optimizer.num_epochs = epochs
    try:
        return list(fsrs_optimizer.Optimizer(logs).compute_optimal_parameters())
    finally:
        fsrs_optimizer.num_epochs = saved


def _fsrs_version() -> str:
    from importlib.metadata import version

    return version("fsrs")
