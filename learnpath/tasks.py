"""Housekeeping tasks for the platform's own state (the `default` queue, from the beat schedule)."""

from __future__ import annotations

import logging

from celery import shared_task

from learnpath import cache

logger = logging.getLogger(__name__)


@shared_task(name="learnpath.apply_owed_cache_invalidations", ignore_result=True)
def apply_owed_cache_invalidations() -> int:
    """Pay the cache version bumps that could not reach the cache when their change was made.

    A process that saw the cache fail pays them itself before it reads from the cache again; this covers the
    processes that did not notice the outage. Does nothing (and is cheap) when nothing is owed.
    """
    try:
        return cache.owed_invalidations_apply()
    except cache.CacheUnavailableError as error:
        logger.info("owed cache bumps wait for the cache: %s", error)
        return 0


@shared_task(name="learnpath.prune_idempotency_records", ignore_result=True)
def prune_idempotency_records() -> int:
    """Delete the kept responses of writes sent with an Idempotency-Key once they no longer count (24 h)."""
    from learnpath.idempotency import idempotency_records_prune

    return idempotency_records_prune()
