"""Login lockout with exponential backoff, per username, in the shared cache.

After LOGIN_MAX_FAILURES wrong passwords in a row for one username, that username is locked
for LOGIN_LOCKOUT_SECONDS, doubling with every further failure up to LOGIN_LOCKOUT_MAX_SECONDS;
a success clears it. Per username, not per address: an attacker rotating addresses (or forging
X-Forwarded-For) still hits the same lock. The cache must be shared (CACHE_URL) so every web
process sees the same count. The token API answers a locked username with 429 and Retry-After;
the dashboard login refuses it like a wrong password.
"""
from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache


def _key(username: str) -> str:
    return "login-failures:" + hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]


def _limits() -> tuple[int, float, float]:
    return (int(getattr(settings, "LOGIN_MAX_FAILURES", 5)), float(getattr(settings, "LOGIN_LOCKOUT_SECONDS", 60)),
            float(getattr(settings, "LOGIN_LOCKOUT_MAX_SECONDS", 3600)))


def login_locked_for(username: str, *, now: float | None = None) -> float:
    """Seconds this username stays locked (0 when it may try)."""
    state = cache.get(_key(username))
    if not state:
        return 0.0
    return max(0.0, state["until"] - (now or time.time()))


def login_failed(username: str, *, now: float | None = None) -> None:
    max_failures, base, ceiling = _limits()
    now = now or time.time()
    state = cache.get(_key(username)) or {"failures": 0, "until": 0.0}
    state["failures"] += 1
    over = state["failures"] - max_failures
    if over >= 0:
        state["until"] = now + min(ceiling, base * 2**over)
    cache.set(_key(username), state, timeout=int(ceiling * 2))


def login_succeeded(username: str) -> None:
    cache.delete(_key(username))


class LockoutModelBackend(ModelBackend):
    """ModelBackend that refuses a locked username and counts wrong passwords (every login path uses it)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or login_locked_for(username) > 0:
            return None
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            login_failed(username)
        else:
            login_succeeded(username)
        return user
