"""Cached reads that stay correct: per-learner summaries and path content, each under a version.

A learner's summaries (Today, the review session, progress, the path outline's states) change only when a
service changes the learner's state, or when time alone moves something: a card comes due, a drop unlocks,
the local day ends. So every entry is stored with

* the learner's version and the content's version it was computed under: the services that change a
  learner's state call :func:`learner_changed`, loading content or editing it in the admin calls
  :func:`content_changed`, and either makes every older entry unreadable;
* the span of time it holds for, ``[computed at, valid until)``, which the selector that computed it says.

A read takes both versions and the entry in one round trip to the cache. A version is bumped at once and
again when the transaction commits: a read that raced the change and stored what it saw before the commit
is stored under the version in between, which nothing reads after the commit. A version that the cache
dropped comes back as a fresh clock reading, never as an older number, so no old entry can match it.

Entries expire after an hour at most, so a change that bypasses the services (an admin editing a
learner's rows) shows within the hour.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from django.core.cache import cache
from django.db import transaction

T = TypeVar("T")

LEARNER_TTL_SECONDS = 60 * 60
CONTENT_TTL_SECONDS = 24 * 60 * 60
# Part of every key: raise it when what a selector caches changes shape, so that a deploy reads no entry
# written by the code before it.
SHAPE = 1
_PREFIX = f"lp{SHAPE}"
_CONTENT_VERSION = f"{_PREFIX}:content:v"


def _learner_version_key(user_id: int) -> str:
    return f"{_PREFIX}:learner:{user_id}:v"


def _version(key: str, found: dict) -> int:
    version = found.get(key)
    if version is None:
        cache.add(key, time.time_ns(), timeout=None)
        version = cache.get(key, time.time_ns())
    return version


def learner_cached(*, user_id: int, name: str, now: datetime, compute: Callable[[], tuple[T, datetime | None]]) -> T:
    """``compute()``'s value for this learner at ``now``, from the cache while it holds.

    ``compute`` returns ``(value, valid_until)``: the first moment at which time alone would change the value
    (None when only a state change can). The value must be picklable.
    """
    return learner_cached_until(user_id=user_id, name=name, now=now, compute=compute)[0]


def learner_cached_until(
    *, user_id: int, name: str, now: datetime, compute: Callable[[], tuple[T, datetime | None]]
) -> tuple[T, datetime | None]:
    """Like :func:`learner_cached`, with the moment the value stops holding (for a cache built on top)."""
    version_key, entry_key = _learner_version_key(user_id), f"{_PREFIX}:learner:{user_id}:{name}"
    found = cache.get_many([version_key, _CONTENT_VERSION, entry_key])
    versions = (_version(version_key, found), _version(_CONTENT_VERSION, found))
    entry = found.get(entry_key)
    if entry is not None:
        entry_versions, valid_from, valid_until, value = entry
        if entry_versions == versions and valid_from <= now and (valid_until is None or now < valid_until):
            return value, valid_until
    value, valid_until = compute()
    timeout = LEARNER_TTL_SECONDS
    if valid_until is not None:
        timeout = max(1, min(timeout, int((valid_until - now).total_seconds()) + 1))
    cache.set(entry_key, (versions, now, valid_until, value), timeout=timeout)
    return value, valid_until


def content_cached(*, name: str, compute: Callable[[], T]) -> T:
    """``compute()``'s value, from the cache until the content next changes. The value must be picklable."""
    entry_key = f"{_PREFIX}:content:{name}"
    found = cache.get_many([_CONTENT_VERSION, entry_key])
    version = _version(_CONTENT_VERSION, found)
    entry = found.get(entry_key)
    if entry is not None and entry[0] == version:
        return entry[1]
    value = compute()
    cache.set(entry_key, (version, value), timeout=CONTENT_TTL_SECONDS)
    return value


def learner_changed(user_id: int) -> None:
    """Make every cached summary of this learner stale: now, and again when the current transaction commits."""
    _bump(_learner_version_key(user_id))


def content_changed() -> None:
    """Make every cached piece of content (and every learner summary built on it) stale."""
    _bump(_CONTENT_VERSION)


def _bump(key: str) -> None:
    def bump() -> None:
        try:
            cache.incr(key)
        except ValueError:  # not in the cache: a fresh clock reading is newer than any version handed out
            cache.set(key, time.time_ns(), timeout=None)

    bump()
    transaction.on_commit(bump)
