"""When a card would come back for each rating: the preview shown on the rating buttons (as Anki's
"10m · 1d · 3d · 8d") and sent as ``intervals`` in the card payloads.

The preview runs the learner's own scheduler (their desired retention, the accepted FSRS parameters: the
scheduler ``review_card_rate`` uses) on a copy of the card, at now, and writes nothing. It is worked out
without fuzzing, so a Review card's real interval may differ from it by the few percent that fuzzing adds.
"""

from __future__ import annotations

import copy
from datetime import datetime

import fsrs

from drops.days import to_utc
from drops.models import ReviewCard, ReviewLog
from drops.scheduling import scheduler, to_fsrs

RATING_NAMES = {rating.value: rating.name.lower() for rating in ReviewLog.Rating}  # 1: "again" … 4: "easy"

_previewers: dict[tuple, fsrs.Scheduler] = {}
_PREVIEWERS_KEPT = 64


def preview_scheduler(*, desired_retention: float | None = None) -> fsrs.Scheduler:
    """The learner's scheduler (drops.scheduling.scheduler) without fuzzing, kept per (parameters, retention)."""
    learner = scheduler(desired_retention=desired_retention)
    key = (tuple(learner.parameters), learner.desired_retention)
    found = _previewers.get(key)
    if found is None:
        if len(_previewers) >= _PREVIEWERS_KEPT:
            _previewers.clear()
        found = _previewers[key] = fsrs.Scheduler(
            parameters=learner.parameters,
            desired_retention=learner.desired_retention,
            learning_steps=learner.learning_steps,
            relearning_steps=learner.relearning_steps,
            maximum_interval=learner.maximum_interval,
            enable_fuzzing=False,
        )
    return found


def rating_intervals(review_card: ReviewCard, now: datetime, preview: fsrs.Scheduler) -> dict[str, int]:
    """Seconds from ``now`` until ``review_card`` would be due again after each rating, keyed by rating name
    ("again", "hard", "good", "easy"). Reviews a copy: the card and its FSRS state are left as they are."""
    card = to_fsrs(review_card)
    moment = to_utc(now)
    intervals = {}
    for value, name in RATING_NAMES.items():
        updated, _ = preview.review_card(copy.copy(card), fsrs.Rating(value), review_datetime=moment)
        intervals[name] = max(0, round((updated.due - moment).total_seconds()))
    return intervals


def interval_short(seconds: int) -> str:
    """A compact interval, as on Anki's buttons: "1m", "10m", "1h", "1d", "3d", "2mo", "1.5y"."""
    minutes = seconds / 60
    if minutes < 60:
        return f"{max(1, round(minutes))}m"
    hours = minutes / 60
    if hours < 24:
        return f"{round(hours)}h"
    days = hours / 24
    if days < 30:
        return f"{round(days)}d"
    if days < 365:
        return f"{_one_place(days / 30)}mo"
    return f"{_one_place(days / 365)}y"


def interval_long(seconds: int) -> str:
    """The same interval in words, for the accessible name: "1 minute", "3 days", "2 months"."""
    short = interval_short(seconds)
    for suffix, unit in (("mo", "month"), ("m", "minute"), ("h", "hour"), ("d", "day"), ("y", "year")):
        if short.endswith(suffix):
            number = short[: -len(suffix)]
            return f"{number} {unit}{'' if number == '1' else 's'}"
    return short


def _one_place(value: float) -> str:
    rounded = round(value, 1)
    return str(int(rounded)) if rounded == int(rounded) else str(rounded)
