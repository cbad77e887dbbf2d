"""Django's Redis cache backend, with one redis-py client per connection pool instead of one per call.

Django's client builds a new ``redis.Redis`` for every cache operation (its constructor sets up some
two hundred response callbacks), which costs more than the round trip itself on a small machine; a
signed-in request makes two cache reads (its session and the learner's summary). redis-py clients are
safe to share between threads, and their pools reconnect after a fork.
"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient
