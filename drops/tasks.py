"""Celery tasks for the daily loop: the daily fit of the FSRS parameters (scheduled by beat).

The fit runs on the ``default`` queue, in a worker: py-fsrs's optimizer needs torch, which no web or beat
process imports (drops.fsrs_fit is imported inside the task). It is idempotent in effect: a second run with
no new review stops at once, and one that overlaps a running fit stops without fitting.
"""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)

# A fit of FSRS_FIT_MAX_LOGS (20,000) logs takes minutes; a run past this is stopped, and nothing is stored.
FIT_SOFT_TIME_LIMIT = 2 * 60 * 60


@shared_task(
    name="drops.fit_fsrs_parameters",
    ignore_result=True,
    soft_time_limit=FIT_SOFT_TIME_LIMIT,
    time_limit=FIT_SOFT_TIME_LIMIT + 300,
)
def fit_fsrs_parameters() -> str:
    """Fit the FSRS parameters to the review logs when something was reviewed since the last fit."""
    from drops.fsrs_fit import FitSkipped, fsrs_fit

    try:
        fit = fsrs_fit(only_if_new=True)
    except FitSkipped as skipped:
        logger.info("FSRS fit skipped: %s", skipped.message)
        return skipped.message
    outcome = (
        f"FSRS fit {fit.pk}: held-out log loss {fit.held_out_log_loss:.4f} against the defaults' "
        f"{fit.default_held_out_log_loss:.4f} on {fit.held_out_reviews} reviews; "
        + ("accepted, the scheduler uses it" if fit.accepted else "not better, the scheduler keeps its parameters")
    )
    logger.info(outcome)
    return outcome
