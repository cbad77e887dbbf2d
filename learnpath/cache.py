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

A request's reads share one round trip where they can: ``RequestCacheMiddleware`` opens a batch for the
request and plans what the request will read (its session, its user, the learner's version, and the entries
its view declares in ``learner_entries``); the first read fetches the plan and the keys asked for in one
``get_many``, and later reads of those keys are answered from the batch. Whatever this process writes to a key
(a version bump, a new entry, a saved session, a dropped user) takes the key out of the batch, so a read after
a write goes back to the cache.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import DatabaseError, transaction

T = TypeVar("T")
logger = logging.getLogger(__name__)

LEARNER_TTL_SECONDS = 60 * 60
CONTENT_TTL_SECONDS = 24 * 60 * 60
# Part of every key: raise it when what a selector caches changes shape, so that a deploy reads no entry
# written by the code before it.
SHAPE = 2
_PREFIX = f"lp{SHAPE}"
_CONTENT_VERSION = f"{_PREFIX}:content:v"


_ABSENT = object()


@dataclass
class _Batch:
    planned: list[str] = field(default_factory=list)
    found: dict[str, Any] = field(default_factory=dict)  # _ABSENT: asked for, not in the cache


_batch: ContextVar[_Batch | None] = ContextVar("learnpath_cache_batch", default=None)


@contextmanager
def batch() -> Iterator[None]:
    """One request's reads: what :func:`plan` names is fetched with the first read, in the same round trip."""
    token = _batch.set(_Batch())
    try:
        yield
    finally:
        _batch.reset(token)


def plan(keys: Iterable[str]) -> None:
    """Fetch ``keys`` with the current batch's next round trip (nothing outside a batch)."""
    current = _batch.get()
    if current is not None:
        current.planned.extend(key for key in keys if key not in current.found)


def read_many(keys: list[str]) -> dict[str, Any]:
    """``cache.get_many(keys)``, answered from the current batch for what it holds and fetching the rest (with
    whatever is planned) in one round trip. Within a batch a key read twice gives the same object: treat
    what the cache returns as read-only."""
    current = _batch.get()
    if current is None:
        return cache.get_many(keys)
    wanted = [key for key in keys if key not in current.found]
    if wanted:
        fetch = list(dict.fromkeys([*wanted, *(key for key in current.planned if key not in current.found)]))
        current.planned.clear()
        got = cache.get_many(fetch)
        for key in fetch:
            current.found[key] = got.get(key, _ABSENT)
    return {key: value for key in keys if (value := current.found[key]) is not _ABSENT}


def read(key: str, default: Any = None) -> Any:
    return read_many([key]).get(key, default)


def wrote(key: str) -> None:
    """This process changed ``key`` in the cache: the current batch no longer answers for it."""
    current = _batch.get()
    if current is not None:
        current.found.pop(key, None)


def learner_keys(user_id: int, names: Iterable[str] = ()) -> list[str]:
    """What reading the learner's entries ``names`` reads: the versions and the entries (for :func:`plan`)."""
    return [_learner_version_key(user_id), _CONTENT_VERSION, *(_learner_entry_key(user_id, name) for name in names)]


def _learner_version_key(user_id: int) -> str:
    return f"{_PREFIX}:learner:{user_id}:v"


def _learner_entry_key(user_id: int, name: str) -> str:
    return f"{_PREFIX}:learner:{user_id}:{name}"


def _version(key: str, found: dict) -> int:
    version = found.get(key)
    if version is None:
        cache.add(key, time.time_ns(), timeout=None)
        wrote(key)
        version = cache.get(key, time.time_ns())
    return version


def learner_cached(
    *, user_id: int, name: str, now: datetime, compute: Callable[[], tuple[T, datetime | None]], variant: str = ""
) -> T:
    """``compute()``'s value for this learner at ``now``, from the cache while it holds.

    ``compute`` returns ``(value, valid_until)``: the first moment at which time alone would change the value
    (None when only a state change can). The value must be picklable. ``variant`` names what else the value
    depends on (the timezone it is written in): an entry computed for another variant is computed again.
    """
    return learner_cached_until(user_id=user_id, name=name, now=now, compute=compute, variant=variant)[0]


def learner_cached_until(
    *, user_id: int, name: str, now: datetime, compute: Callable[[], tuple[T, datetime | None]], variant: str = ""
) -> tuple[T, datetime | None]:
    """Like :func:`learner_cached`, with the moment the value stops holding (for a cache built on top)."""
    version_key, entry_key = _learner_version_key(user_id), _learner_entry_key(user_id, name)
    found = read_many([version_key, _CONTENT_VERSION, entry_key])
    versions = (_version(version_key, found), _version(_CONTENT_VERSION, found), variant)
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
    wrote(entry_key)
    return value, valid_until


def content_cached(*, name: str, compute: Callable[[], T]) -> T:
    """``compute()``'s value, from the cache until the content next changes. The value must be picklable."""
    entry_key = f"{_PREFIX}:content:{name}"
    found = read_many([_CONTENT_VERSION, entry_key])
    version = _version(_CONTENT_VERSION, found)
    entry = found.get(entry_key)
    if entry is not None and entry[0] == version:
        return entry[1]
    value = compute()
    cache.set(entry_key, (version, value), timeout=CONTENT_TTL_SECONDS)
    wrote(entry_key)
    return value


def learner_changed(user_id: int) -> None:
    """Make every cached summary of this learner stale: now, and again when the current transaction commits."""
    _bump(_learner_version_key(user_id))


def content_changed() -> None:
    """Make every cached piece of content (and every learner summary built on it) stale."""
    _bump(_CONTENT_VERSION)


def _bump(key: str) -> None:
    """Bump a version now and after the commit; a bump the cache cannot take is owed, never raised.

    The state change must not wait for, or be undone by, the cache. A bump that fails before the commit is
    recorded as owed in the same transaction, so the change and the debt commit together; one that fails
    after the commit is recorded on its own. :func:`owed_invalidations_apply` pays them once the cache
    answers: before this process next reads from it, and from the beat schedule for every other process.
    """
    _invalidate(key, BUMP)


def forget(key: str) -> None:
    """Delete an entry now and after the commit (a signed-in user, a session logged out), owed like a bump
    when the cache cannot take it: such an entry must not come back with the cache."""
    _invalidate(key, DELETE)


BUMP, DELETE = "bump", "delete"


def _invalidate(key: str, action: str) -> None:
    if not _try(key, action):
        _owe(key, action)

    def after_commit() -> None:
        if not _try(key, action):
            _owe(key, action)

    transaction.on_commit(after_commit)


def _try(key: str, action: str) -> bool:
    try:
        if action == DELETE:
            cache.delete(key)
        else:
            try:
                cache.incr(key)
            except ValueError:  # not in the cache: a fresh clock reading is newer than any version handed out
                cache.set(key, time.time_ns(), timeout=None)
        if getattr(cache, "last_failed", False):  # a tolerant backend dropped it rather than raise
            raise CacheUnavailableError("the cache server cannot be reached")
    except Exception as error:  # noqa: BLE001 - whatever the backend raises, the change it follows stands
        logger.warning("cache %s of %s not made (%s): recorded to apply when the cache is back", action, key, error)
        return False
    wrote(key)
    return True


def _owe(key: str, action: str) -> None:
    from learnpath.models import CacheInvalidation

    try:
        CacheInvalidation.objects.create(key=key, action=action)
    except DatabaseError:
        # Only after the commit, with the database gone too: this process keeps it and pays it with the rest.
        logger.exception("could not record the owed cache %s of %s; keeping it in this process", action, key)
        _owed_here.add((key, action))


_owed_here: set[tuple[str, str]] = set()


def owed_invalidations_apply(*, limit: int = 5000) -> int:
    """Make every invalidation owed since the cache was unreachable; returns how many records were paid.

    Raises :class:`CacheUnavailableError` when the cache still cannot take them (the records stay for the
    next try). Records written while this runs are left for the next run: only what was read is deleted.
    """
    from learnpath.models import CacheInvalidation

    owed = list(CacheInvalidation.objects.order_by("pk").values_list("pk", "key", "action")[:limit])
    wanted = {(key, action) for _, key, action in owed} | _owed_here
    for key, action in sorted(wanted):
        if not _try(key, action):
            raise CacheUnavailableError(f"the cache did not take the owed {action} of {key}")
        _owed_here.discard((key, action))
    if owed:
        CacheInvalidation.objects.filter(pk__in=[pk for pk, _, _ in owed]).delete()
        logger.info("applied %d owed cache invalidations (%d keys)", len(owed), len(wanted))
    return len(owed)


class CacheUnavailableError(Exception):
    """The cache cannot take an invalidation now."""
