"""Per-principal rate limits: a fixed-window counter in the cache (O(1) per request).

One bucket per API key, per user, or per client address, each with its own rate from
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]. Over the limit is a 429 with Retry-After.

The limiter fails open: when the cache (Redis) cannot be reached, requests go through unlimited
and the cache is not tried again for `CACHE_RETRY_S`, so an outage neither answers 500 nor adds a
connection timeout to every request. Rate limits protect capacity; refusing all traffic because
the counter store is down would turn a Redis outage into a full one (events need only the database).
"""
from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
CACHE_RETRY_S = 5.0
logger = logging.getLogger(__name__)
_cache_down_until: dict[str, float] = {}  # cache location -> when to try it again


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
        self._wait = (bucket + 1) * window - now
        used = _count(key, timeout=window + 1, now=now)
        return used is None or used <= limit

    def wait(self) -> float:
        return max(self._wait, 1.0)


def _count(key: str, *, timeout: int, now: float) -> int | None:
    """The window's count after this request, or None when the cache is unreachable (fail open)."""
    location = str(settings.CACHES["default"].get("LOCATION", ""))
    if now < _cache_down_until.get(location, 0.0):
        return None
    try:
        cache.add(key, 0, timeout=timeout)
        try:
            return cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=timeout)
            return 1
    except Exception:  # noqa: BLE001 - any backend's connection error; the request must not fail for it
        _cache_down_until[location] = now + CACHE_RETRY_S
        logger.warning("rate-limit cache unreachable; not limiting for %.0f s", CACHE_RETRY_S, exc_info=True)
        return None
