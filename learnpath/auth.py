"""Authentication backend: Django's ModelBackend, with the signed-in learner (and profile) read from the cache.

Every signed-in request loads its user: the session says who, the backend fetches the row, and Django checks
the session's hash against the password hash. That one query (with the profile, which the timezone
middleware and the daily loop need) was most of what a cached learner endpoint still cost. So the user is
kept in the cache, under its id, and dropped whenever the user or the profile is saved or deleted (a
password change, a deactivation, a settings change, a login's ``last_login``), at once and again when the
transaction commits, so that a read racing the change cannot keep the old row. Entries also expire on
their own after ``USER_TTL_SECONDS``, which bounds a change that bypasses ``save()`` (a queryset
``update()``).

API tokens take the same path (``TokenAuthentication``): the token's user id is cached under a sha256 of the
token (never the token itself), and the user under the same ``user_key`` as a session's. A token made here
(``new_token_key``) starts with its user's id, like a session key, so that ``RequestCacheMiddleware`` fetches
the token's entry, the user and the learner's entries in one round trip; the id in the token is only a hint,
the cached entry (or the token row) still decides whose token it is. A token deleted or replaced drops its
entry at once and when the transaction commits (``forget_token``).
"""

from __future__ import annotations

import hashlib
import re

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.translation import gettext_lazy as _
from drf_spectacular.authentication import SessionScheme
from rest_framework import authentication, exceptions

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


def token_key(key: str) -> str:
    """The cache key of an API token's user id: a digest of the token, never the token itself."""
    return f"lp1:auth-token:{hashlib.sha256(key.encode()).hexdigest()}"


def forget_token(key: str) -> None:
    """Drop a deleted or replaced token's cached user id now and when the current transaction commits (owed
    if the cache is down: a deleted token must not sign anyone in when the cache comes back)."""
    batched.forget(token_key(key))


TOKEN_LENGTH = 40  # the token table's key column
_KEY_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_HINTED_TOKEN = re.compile(r"u(\d{1,10})\.[a-z0-9]{28,}")


def new_token_key(user_id: int) -> str:
    """A new API token for the user: ``u<id>.`` and random characters (144 bits or more), like a session key."""
    prefix = f"u{user_id}."
    return prefix + get_random_string(TOKEN_LENGTH - len(prefix), _KEY_ALPHABET)


def token_hint(key: str | None) -> int | None:
    """The user id a token was made for, or None: what to fetch beside it, never whose token it is."""
    found = _HINTED_TOKEN.fullmatch(key) if key else None
    return int(found.group(1)) if found else None


def _cached_user(user_id):
    """The user with the profile, from the cache or one query that fills it (None when there is no such user)."""
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
    return user


class ProfileModelBackend(ModelBackend):
    """Every signed-in request needs the user and the profile: from the cache, or one query that fills it."""

    def get_user(self, user_id):
        user = _cached_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


def learner_timezone_activate(user) -> None:
    """Render this request's dates in the signed-in learner's own timezone (UTC for anyone else)."""
    profile = getattr(user, "profile", None) if user.is_authenticated else None
    if profile is not None:
        timezone.activate(profile.zone)


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication, with the token's user id and the user read from the cache.

    A warm request reads the token's entry and the user in the round trip the middleware planned; a cold one
    loads the token with its user and profile in one query and fills both. An inactive user is refused, as
    DRF refuses them; a missing or unknown token is a 401 with ``WWW-Authenticate: Token``.
    """

    def authenticate_credentials(self, key):
        model = self.get_model()
        entry = token_key(key)
        user_id = batched.read(entry)
        user = _cached_user(user_id) if user_id is not None else None
        if user is None:
            try:
                token = model.objects.select_related("user", "user__profile").get(key=key)
            except model.DoesNotExist:
                raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
            user = token.user
            cache.set(user_key(user.pk), user, USER_TTL_SECONDS)
            batched.wrote(user_key(user.pk))
            cache.set(entry, user.pk, USER_TTL_SECONDS)
            batched.wrote(entry)
        else:
            token = model(key=key, user=user)
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        # The timezone middleware ran before DRF knew the token's user: dates render in the learner's zone too.
        learner_timezone_activate(user)
        return user, token


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
