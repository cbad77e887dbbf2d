"""Accounts created per client network (``THROTTLE_ACCOUNTS_PER_NETWORK``), for the sign-up API and page alike.

Only accounts made are counted, never attempts: a sign-up refused for a taken username or a weak password costs
nothing. The count lives in the cache, like DRF's other throttles; while the cache is down, nothing is counted.
"""

from __future__ import annotations

import math

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from learnpath import services
from learnpath.redis_cache import CacheUnavailable


class AccountsPerNetworkThrottle(SimpleRateThrottle):
    """A DRF throttle keyed by the client's network whose rate is ``DEFAULT_THROTTLE_RATES["accounts_per_network"]``
    (None, or no entry, turns it off). ``allow_request`` only checks; ``record_account_created`` counts."""

    scope = "accounts_per_network"

    def get_rate(self):
        # Read on each use (not DRF's class attribute, fixed at import), so that a changed setting takes effect.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": services.client_network(request)}

    def throttle_success(self):
        return True  # an attempt is not an account: see record_account_created

    def record_account_created(self, request) -> None:
        if self.rate is None:
            return
        self.key = self.get_cache_key(request, None)
        self.now = self.timer()
        history = [moment for moment in self.cache.get(self.key, []) if moment > self.now - self.duration]
        self.cache.set(self.key, [self.now, *history], self.duration)


def account_creation_wait(request) -> float | None:
    """Seconds until one more account may be created from the request's network; None when one may be now."""
    throttle = AccountsPerNetworkThrottle()
    try:
        if throttle.allow_request(request, None):
            return None
        return throttle.wait() or 1.0
    except CacheUnavailable:
        return None


def account_created(request) -> None:
    """Count an account just created from the request's network."""
    try:
        AccountsPerNetworkThrottle().record_account_created(request)
    except CacheUnavailable:
        pass


def accounts_per_network_message(wait_seconds: float) -> str:
    if wait_seconds >= 3600:
        later = f"about {math.ceil(wait_seconds / 3600)} hour(s)"
    else:
        later = f"about {max(1, math.ceil(wait_seconds / 60))} minute(s)"
    return (
        "Too many accounts have been created from your network recently, so no more can be made from it for now. "
        f"Try again in {later}, or log in to an account you already have."
    )
