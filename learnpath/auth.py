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
from drf_spectacular.authentication import SessionScheme
from rest_framework import authentication

from learnpath import cache as batched

USER_TTL_SECONDS = 300
_MISSING = object()


def user_key(user_id) -> str:
    """The cache key of a signed-in user (for ``learnpath.cache.plan``)."""
    return f"lp1:auth-user:{user_id}"


def forget_user(user_id) -> None:
    """Drop the cached user now and when the current transaction commits (owed if the cache is down: an old
    password hash or an active flag must not come back with the cache)."""
    batched.forget(user_key(user_id))


class ProfileModelBackend(ModelBackend):
    """Every signed-in request needs the user and the profile: from the cache, or one query that fills it."""

    def get_user(self, user_id):
        key = user_key(user_id)
        user = batched.read(key, _MISSING)
        if user is _MISSING:
            user_model = get_user_model()
            try:
                user = user_model._default_manager.select_related("profile").get(pk=user_id)
            except user_model.DoesNotExist:
                return None
            cache.set(key, user, USER_TTL_SECONDS)
            batched.wrote(key)
        return user if self.user_can_authenticate(user) else None


class SessionAuthentication(authentication.SessionAuthentication):
    """DRF's session authentication, handing the view the user itself rather than Django's lazy wrapper of it
    (every attribute read through the wrapper costs a call)."""

    def authenticate(self, request):
        found = super().authenticate(request)
        if found is None:
            return None
        user, auth = found
        return getattr(user, "_wrapped", user), auth


class SessionAuthenticationScheme(SessionScheme):
    """The OpenAPI schema describes it as the session cookie, like DRF's own."""

    target_class = "learnpath.auth.SessionAuthentication"
