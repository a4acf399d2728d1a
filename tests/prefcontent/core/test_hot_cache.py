"""core.hot_cache: per-process entries that expire, stay bounded and can be turned off."""
from __future__ import annotations

from prefcontent.core import hot_cache
from prefcontent.core.hot_cache import HotCache


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_entry_answers_until_it_expires_then_is_read_again(settings, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(hot_cache.time, "monotonic", clock)
    settings.HOT_CACHE_SECONDS = 2.0
    cache, loads = HotCache("t"), []

    def load():
        loads.append(1)
        return len(loads)

    assert cache.read("k", load) == 1
    clock.now += 1.9
    assert cache.read("k", load) == 1  # within the TTL: no load
    clock.now += 0.2
    assert cache.read("k", load) == 2 and len(loads) == 2


def test_zero_seconds_reads_every_time_and_the_oldest_entry_goes_first(settings):
    settings.HOT_CACHE_SECONDS = 0
    cache, loads = HotCache("t"), []
    cache.read("k", lambda: loads.append(1))
    cache.read("k", lambda: loads.append(1))
    assert len(loads) == 2
    settings.HOT_CACHE_SECONDS = 60
    small = HotCache("small", max_entries=2)
    for key in ("a", "b", "c"):
        small.read(key, lambda key=key: key.upper())
    assert small.read("a", lambda: "reloaded") == "reloaded"  # "a" was evicted, "c" kept
    assert small.read("c", lambda: "reloaded") == "C"


def test_drop_and_clear_forget_at_once(settings):
    settings.HOT_CACHE_SECONDS = 60
    cache = HotCache("t")
    cache.read("k", lambda: "old")
    cache._forget("k")
    assert cache.read("k", lambda: "new") == "new"
    hot_cache.hot_caches_clear(at_commit=False)
    assert cache.read("k", lambda: "newer") == "newer"


def test_a_none_is_not_remembered_when_told_so(settings):
    settings.HOT_CACHE_SECONDS = 60
    cache, loads = HotCache("t"), []
    for _ in range(2):
        cache.read("missing", lambda: loads.append(1), keep_none=False)
    assert len(loads) == 2
    cache.read("kept", lambda: loads.append(1))
    cache.read("kept", lambda: loads.append(1))
    assert len(loads) == 3
