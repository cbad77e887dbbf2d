from django.utils import timezone

from learnpath import cache
from learnpath.auth import user_key
from learnpath.sessions import user_hint


class RequestCacheMiddleware:
    """Each request's cache reads in as few round trips as they can take (``learnpath.cache.batch``).

    Before the view runs, plans what a signed-in request will read: its session, its user, the learner's
    versions and the entries its view declares in ``learner_entries`` (names, or callables of the request that
    return names). The user is the one the session key names (``learnpath.sessions``); the session's own data
    still decides who is signed in. Goes right after ``SessionMiddleware``, before anything reads the session.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with cache.batch():
            return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        session = getattr(request, "session", None)
        session_key = getattr(session, "session_key", None)
        user_id = user_hint(session_key)
        if user_id is None:
            return None
        declared = getattr(getattr(view_func, "cls", view_func), "learner_entries", ())
        names = [name(request) if callable(name) else name for name in declared]
        session_keys = [session.cache_key_prefix + session_key] if hasattr(session, "cache_key_prefix") else []
        cache.plan([*session_keys, user_key(user_id), *cache.learner_keys(user_id, names)])
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
        user = request.user
        profile = getattr(user, "profile", None) if user.is_authenticated else None
        if profile is not None:
            timezone.activate(profile.zone)
        return None
