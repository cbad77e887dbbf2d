"""FSRS scheduling, shared by reads and writes: the py-fsrs scheduler for a desired retention, the conversion of
a learner's ReviewCard to a py-fsrs Card, retrievability, intervals and the learn-ahead window.

It writes nothing. Its one query is the lookup of the accepted FSRS fit's parameters, made at most every
FSRS_PARAMETERS_RECHECK_SECONDS per process (drops.fsrs_fit accepts fits and says so here).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import fsrs
from django.conf import settings
from django.db import transaction

from drops.days import to_utc
from drops.models import FsrsFit, ReviewCard

logger = logging.getLogger(__name__)

# Learning steps are minutes apart: a card due within this window stays in today's session, as in Anki.
LEARN_AHEAD = timedelta(minutes=20)


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
