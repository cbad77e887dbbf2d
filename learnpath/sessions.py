"""Sessions: Django's cached-database sessions, with keys that name their learner and reads through the batch.

A signed-in request needs its session, its user and the learner's cached summaries, and the session names the
user only once it has been read: three round trips to the cache, one after the other. So a signed-in
session's key starts with its user's id (``u<id>.`` and random characters, 144 bits or more of them), and
``learnpath.middleware.RequestCacheMiddleware`` asks for the session, the user and what the view reads in one
round trip (``learnpath.cache.plan``). The id in the key is only a hint for what to fetch: the session's own
data still says who is signed in, and nothing is taken from the hint alone. A key made before the learner
signs in (or by Django's own store) has no hint and is simply read the slow way.

For the key to carry the id it must be made once the id is in the session, so rotating the key on login
(``cycle_key``) drops the old key at once and makes the new one when the session is saved, at the end of the
request, as Django saves every changed session.
"""

from __future__ import annotations

import re

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends import cached_db
from django.utils.crypto import get_random_string

from learnpath import cache

KEY_LENGTH = 40  # the session table's key column
MIN_RANDOM = 28  # 36**28: about 144 bits
_HINTED = re.compile(r"u(\d{1,10})\.[a-z0-9]+")
_VALID_KEY_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"


def user_hint(session_key: str | None) -> int | None:
    """The user id a session key was made for, or None: what to fetch beside it, never who is signed in."""
    if not session_key:
        return None
    found = _HINTED.fullmatch(session_key)
    return int(found.group(1)) if found else None


class SessionStore(cached_db.SessionStore):
    def _get_new_session_key(self) -> str:
        user_id = getattr(self, "_session_cache", {}).get(SESSION_KEY)
        prefix = f"u{user_id}." if user_id and str(user_id).isdigit() else ""
        length = KEY_LENGTH - len(prefix)
        if length < MIN_RANDOM:
            prefix, length = "", 32
        while True:
            session_key = prefix + get_random_string(length, _VALID_KEY_CHARS)
            if not self.exists(session_key):
                return session_key

    def cycle_key(self) -> None:
        """Keep the data, drop the old key now, and make the new key when the session is saved."""
        data = self._session
        key = self.session_key
        self._session_key = None
        self._session_cache = data
        self.modified = True
        if key:
            self.delete(key)

    def load(self) -> dict:
        # Django calls this only for a session with a key; as cached_db does, a failing cache read is a miss.
        try:
            data = cache.read(self.cache_key)
        except Exception:  # noqa: BLE001 - the database still holds the session
            data = None
        if data is None:
            stored = self._get_session_from_db()
            data = self.decode(stored.session_data) if stored else {}
            if stored:
                self._cache.set(self.cache_key, data, self.get_expiry_age(expiry=stored.expire_date))
        return data

    def save(self, must_create: bool = False) -> None:
        super().save(must_create=must_create)
        cache.wrote(self.cache_key)
        if getattr(self._cache, "last_failed", False):
            # The database has the session; an older copy left in the cache must not come back with it.
            cache.forget(self.cache_key)

    def delete(self, session_key: str | None = None) -> None:
        key = session_key if session_key is not None else self.session_key
        super().delete(session_key)
        if key is not None:
            # A session logged out while the cache was down must not come back with the cache.
            cache.forget(self.cache_key_prefix + key)
