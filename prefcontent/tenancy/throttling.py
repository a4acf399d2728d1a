"""Per-principal rate limits: a fixed-window counter in the cache (O(1) per request).

One bucket per API key, per user, or per client address, each with its own rate from
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]. Over the limit is a 429 with Retry-After.
"""
from __future__ import annotations

import time

from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    count, period = rate.split("/")
    return int(count), _UNITS[period[0]]


class PrincipalRateThrottle(BaseThrottle):
    def allow_request(self, request, view) -> bool:
        from prefcontent.accounts.models import ApiKey

        if isinstance(getattr(request, "auth", None), ApiKey):
            scope, ident = "api_key", f"k{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            scope, ident = "user", f"u{request.user.pk}"
        else:
            scope, ident = "anon", f"a{self.get_ident(request)}"
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(scope)
        if not rate:
            return True
        limit, window = parse_rate(rate)
        now = time.time()
        bucket = int(now // window)
        key = f"throttle:{scope}:{ident}:{bucket}"
        cache.add(key, 0, timeout=window + 1)
        try:
            used = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window + 1)
            used = 1
        self._wait = (bucket + 1) * window - now
        return used <= limit

    def wait(self) -> float:
        return max(self._wait, 1.0)
