"""Django's Redis cache backend: one redis-py client per pool, short timeouts, and an outage that slows, never breaks.

Django's client builds a new ``redis.Redis`` for every cache operation (its constructor sets up some
two hundred response callbacks), which costs more than the round trip itself on a small machine; a
signed-in request makes two cache reads (its session and the learner's summary). redis-py clients are
safe to share between threads, and their pools reconnect after a fork.

The cache is an optimisation (docs/architecture.md, "Dependable as a shared service"): when the server
cannot be reached, a read is a miss (the caller computes from the database), a write is dropped, and
``incr`` raises :class:`CacheUnavailable` (it has no miss to give; ``learnpath.cache`` records the version
bump it could not make, and applies it once the server is back). After a failure the server is not asked
again for ``CACHE_RETRY_SECONDS``, so an outage costs each request nothing rather than a timeout. The
first operation after that asks once more; when the server answers, the :data:`recovered` hooks run
first (they apply the bumps owed), and only then is the cache read again, so a process that saw the
outage never reads an entry older than a change made during it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger(__name__)

# redis-py's defaults (5 s timeouts, ten retries with backoff) would hold a request for most of a minute.
CONNECT_TIMEOUT_SECONDS = 0.5
SOCKET_TIMEOUT_SECONDS = 1.0
RETRY_SECONDS = 2.0

# Called with no argument when a server that failed answers again, before anything else is read from it;
# one that raises leaves the cache unavailable until the next try.
recovered: list[Callable[[], None]] = []


class CacheUnavailable(Exception):
    """The cache server cannot be reached now (raised only where an operation has no miss to give)."""


_MISS_FOR = {"add": False, "touch": False, "delete": False, "has_key": False, "clear": False}


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, retry_seconds: float = RETRY_SECONDS, **kwargs):
        kwargs.setdefault("socket_connect_timeout", CONNECT_TIMEOUT_SECONDS)
        kwargs.setdefault("socket_timeout", SOCKET_TIMEOUT_SECONDS)
        # One retry on a fresh connection: a pooled connection that a server restart closed is not an outage.
        kwargs.setdefault("retry", Retry(NoBackoff(), 1))
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}
        self._retry_seconds = retry_seconds
        self._down_since: float | None = None
        self._ask_again_at = 0.0
        self._recovering = False
        # Whether the last operation fell back to a miss or a dropped write (the server failed or is resting).
        self.last_failed = False

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client

    @property
    def available(self) -> bool:
        """False while a failure is recent enough that the server is not asked."""
        return self._down_since is None or time.monotonic() >= self._ask_again_at

    def _guarded(self, name: str, operation: Callable, *args):
        if self._down_since is not None and not self._recovering and not self._recover():
            return self._unavailable(name)
        try:
            result = operation(*args)
        except redis.RedisError as error:
            self._failed(error)
            return self._unavailable(name)
        self.last_failed = False
        return result

    def _unavailable(self, name: str):
        self.last_failed = True
        if name == "incr":
            raise CacheUnavailable("the cache server cannot be reached")
        return _MISS_FOR.get(name)

    def _failed(self, error: Exception) -> None:
        now = time.monotonic()
        if self._down_since is None:
            self._down_since = now
            logger.warning("cache unavailable (%s): reads fall back to the database", error)
        self._ask_again_at = now + self._retry_seconds

    def _recover(self) -> bool:
        """Whether the server answers again, with the owed bumps applied (tried at most once per interval)."""
        if time.monotonic() < self._ask_again_at:
            return False
        self._recovering = True
        try:
            self.get_client(write=True).ping()
            for hook in recovered:
                hook()
        except Exception as error:  # noqa: BLE001 - whatever failed, the cache stays out of use until it works
            self._failed(error)
            return False
        finally:
            self._recovering = False
        logger.warning("cache available again after %.1f s", time.monotonic() - self._down_since)
        self._down_since = None
        return True

    def add(self, key, value, timeout):
        return self._guarded("add", super().add, key, value, timeout)

    def get(self, key, default):
        found = self._guarded("get", super().get, key, _NOT_FOUND)
        return default if found is None or found is _NOT_FOUND else found

    def set(self, key, value, timeout):
        return self._guarded("set", super().set, key, value, timeout)

    def touch(self, key, timeout):
        return self._guarded("touch", super().touch, key, timeout)

    def delete(self, key):
        return self._guarded("delete", super().delete, key)

    def get_many(self, keys):
        return self._guarded("get_many", super().get_many, keys) or {}

    def has_key(self, key):
        return self._guarded("has_key", super().has_key, key)

    def incr(self, key, delta):
        return self._guarded("incr", super().incr, key, delta)

    def set_many(self, data, timeout):
        return self._guarded("set_many", super().set_many, data, timeout)

    def delete_many(self, keys):
        return self._guarded("delete_many", super().delete_many, keys)

    def clear(self):
        return self._guarded("clear", super().clear)


_NOT_FOUND = object()


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient

    @property
    def available(self) -> bool:
        return self._cache.available

    @property
    def last_failed(self) -> bool:
        """Whether the last operation in this thread could not reach the server (its write was dropped)."""
        return self._cache.last_failed
