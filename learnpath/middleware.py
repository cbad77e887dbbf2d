from django.utils import timezone

from learnpath import cache
from learnpath.auth import learner_timezone_activate, token_hint, token_key, user_key
from learnpath.sessions import user_hint


class RequestCacheMiddleware:
    """Each request's cache reads in as few round trips as they can take (``learnpath.cache.batch``).

    Before the view runs, plans what a signed-in request will read: its session, its user, the learner's
    versions and the entries its view declares in ``learner_entries`` (names, or callables of the request that
    return names). The user is the one the session key names (``learnpath.sessions``), or, for a request with
    ``Authorization: Token``, the one the token names (``learnpath.auth.new_token_key``), with the token's
    cached entry in place of the session; the session's data, or the token's entry, still decides who is
    signed in. Goes right after ``SessionMiddleware``, before anything reads the session.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with cache.batch():
            return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        token = _token(request)
        if token is not None:
            # The token, not a session cookie beside it, signs an API request in (token comes first).
            user_id = token_hint(token)
            if user_id is None:
                cache.plan([token_key(token)])
                return None
            auth_keys = [token_key(token)]
        else:
            session = getattr(request, "session", None)
            session_key = getattr(session, "session_key", None)
            user_id = user_hint(session_key)
            if user_id is None:
                return None
            auth_keys = [session.cache_key_prefix + session_key] if hasattr(session, "cache_key_prefix") else []
        declared = getattr(getattr(view_func, "cls", view_func), "learner_entries", ())
        names = [name(request) if callable(name) else name for name in declared]
        cache.plan([*auth_keys, user_key(user_id), *cache.learner_keys(user_id, names)])
        return None


def _token(request) -> str | None:
    """The key of an ``Authorization: Token <key>`` header, or None."""
    parts = request.META.get("HTTP_AUTHORIZATION", "").split()
    if len(parts) == 2 and parts[0].lower() == "token":
        return parts[1]
    return None


class LearnerTimezoneMiddleware:
    """Render dates in the signed-in learner's own timezone.

    Activated once the view is known (after ``RequestCacheMiddleware`` has planned the request's reads, so that
    loading the learner is part of that round trip); a request that never reaches a view renders in UTC.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        timezone.deactivate()
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # A token's user is known only once DRF authenticates it, which activates the zone then.
        learner_timezone_activate(request.user)
        return None
