"""Authentication backend: Django's ModelBackend, with the signed-in learner (and profile) read from the cache.

Every signed-in request loads its user: the session says who, the backend fetches the row, and Django checks
the session's hash against the password hash. That one query (with the profile, which the timezone
middleware and the daily loop need) was most of what a cached learner endpoint still cost. So the user is
kept in the cache, under its id, and dropped whenever the user or the profile is saved or deleted (a
password change, a deactivation, a settings change, a login's ``last_login``), at once and again when the
transaction commits, so that a read racing the change cannot keep the old row. Entries also expire on
their own after ``USER_TTL_SECONDS``, which bounds a change that bypasses ``save()`` (a queryset
``update()``).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.db import transaction

USER_TTL_SECONDS = 300
_MISSING = object()


def _key(user_id) -> str:
    return f"lp1:auth-user:{user_id}"


def forget_user(user_id) -> None:
    """Drop the cached user now and when the current transaction commits."""
    key = _key(user_id)
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))


class ProfileModelBackend(ModelBackend):
    """Every signed-in request needs the user and the profile: from the cache, or one query that fills it."""

    def get_user(self, user_id):
        key = _key(user_id)
        user = cache.get(key, _MISSING)
        if user is _MISSING:
            user_model = get_user_model()
            try:
                user = user_model._default_manager.select_related("profile").get(pk=user_id)
            except user_model.DoesNotExist:
                return None
            cache.set(key, user, USER_TTL_SECONDS)
        return user if self.user_can_authenticate(user) else None
