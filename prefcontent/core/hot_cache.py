"""Per-process caches for the reads every page view makes (API key, experiment and arms).

An entry lives `HOT_CACHE_SECONDS` (default 2 s; 0 turns caching off): another process's write is
seen within that long, and a write in this process drops its entries when it commits. Each cache
is bounded; the oldest entries go first. Thread-safe, since gthread workers share a process.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from django.conf import settings
from django.db import transaction

DEFAULT_SECONDS = 2.0
_MISSING = object()
_ALL: list[HotCache] = []


class HotCache:
    """A bounded map whose entries expire; `read(key, load)` returns the cached value or loads it."""

    def __init__(self, name: str, *, max_entries: int = 4096):
        self.name = name
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        _ALL.append(self)

    @staticmethod
    def seconds() -> float:
        return float(getattr(settings, "HOT_CACHE_SECONDS", DEFAULT_SECONDS))

    def read(self, key: Hashable, load: Callable[[], Any], *, keep_none: bool = True) -> Any:
        """`keep_none=False`: a None loaded is not remembered (a row made a moment ago is found at once)."""
        ttl = self.seconds()
        if ttl <= 0:
            return load()
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key, _MISSING)
            if hit is not _MISSING and hit[0] > now:
                return hit[1]
        value = load()  # outside the lock: a slow query never blocks the other threads' hits
        if value is None and not keep_none:
            return value
        with self._lock:
            self._entries[key] = (now + ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

    def drop(self, key: Hashable) -> None:
        """Forget `key` now and again when the current transaction commits (a read between the two
        would otherwise cache the old row for a whole TTL)."""
        self._forget(key)
        transaction.on_commit(lambda: self._forget(key))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _forget(self, key: Hashable) -> None:
        with self._lock:
            self._entries.pop(key, None)


def hot_caches_clear(*, at_commit: bool = True) -> None:
    """Forget every entry of every cache in this process, now and (unless told not to, outside any
    transaction) at commit: for the rare write that many entries read (a brand's settings or deletion)."""
    for cache in _ALL:
        cache.clear()
    if at_commit:
        transaction.on_commit(lambda: [cache.clear() for cache in _ALL])
