"""LRU cache of peft LoRA adapters loaded into one shared base model.

The base weights are loaded once; each adapter adds its small LoRA matrices through a
LoRA backend (lora.py) under a name unique to that load, so a new version of a brand's
adapter never aliases the old one. Adapters in use by running work are pinned and never
evicted; unpinned ones go least-recently-used first when the count or byte bound would
be exceeded.
"""
from __future__ import annotations

import itertools
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from ml.serving.checksum import verify_dir_checksum
from ml.serving.lora import ADAPTER_CONFIG, ADAPTER_WEIGHTS, BASE, LoraBackend
from ml.serving.types import EngineStats

AdapterKey = tuple[str, str, str | None]  # (adapter_id, resolved path, expected sha256)


class AdapterLoadError(RuntimeError):
    """An adapter directory cannot be served (missing files, unsupported format, too large for the cache)."""


@dataclass
class _Entry:
    name: str  # backend name of this load
    nbytes: int  # size of the adapter weights file, the cache's memory unit
    pins: int = 0  # running sequences or score jobs using it
    doomed: bool = False  # evict as soon as the last pin is released (its brand was erased)


class AdapterCache:
    """Loads adapters on miss, evicts least-recently-used unpinned ones, and runs forwards."""

    def __init__(self, backend: LoraBackend, *, max_adapters: int, max_bytes: int, stats: EngineStats) -> None:
        if max_adapters < 1 or max_bytes < 1:
            raise ValueError("max_adapters and max_bytes must be positive")
        self._backend = backend
        self._entries: OrderedDict[AdapterKey, _Entry] = OrderedDict()
        self._names = (f"adapter_{i}" for i in itertools.count())
        self._max_adapters = max_adapters
        self._max_bytes = max_bytes
        self._stats = stats

    @property
    def loaded_ids(self) -> list[str]:
        """adapter_ids currently loaded, least recently used first."""
        return [key[0] for key in list(self._entries)]  # list() first: other threads read a snapshot

    @property
    def loaded_bytes(self) -> int:
        return sum(e.nbytes for e in self._entries.values())

    def acquire(self, adapter_id: str | None, path: str | None, sha256: str | None) -> str | None:
        """Pin the adapter (loading it on a miss) and return its backend name, BASE for the base model.

        Returns None when it cannot be loaded yet because every slot is pinned by running
        work; raises AdapterChecksumError / AdapterLoadError when it can never be served.
        """
        if adapter_id is None:
            return BASE
        assert path is not None, "validated requests always carry adapter_path"
        key: AdapterKey = (adapter_id, str(Path(path).resolve()), sha256.lower() if sha256 else None)
        entry = self._entries.get(key)
        if entry is None:
            entry = self._load(key)
            if entry is None:
                return None
        self._entries.move_to_end(key)
        entry.pins += 1
        return entry.name

    def release(self, name: str) -> None:
        """Unpin an adapter returned by acquire()."""
        if name == BASE:
            return
        for key, entry in self._entries.items():
            if entry.name == name:
                entry.pins -= 1
                if entry.doomed and entry.pins == 0:
                    self._evict(key)
                return
        raise KeyError(f"adapter {name!r} is not loaded")

    def evict_matching(self, adapter_id_prefix: str) -> int:
        """Unload every adapter whose id starts with the prefix (pinned ones once their work ends); how many."""
        matching = [k for k in self._entries if k[0].startswith(adapter_id_prefix)]
        for key in matching:
            if self._entries[key].pins == 0:
                self._evict(key)
            else:
                self._entries[key].doomed = True
        return len(matching)

    def forward(self, adapter_names: list[str], **kwargs: object):
        """Run the model on a batch whose row i uses adapter adapter_names[i] (BASE = none)."""
        return self._backend.forward(adapter_names, **kwargs)

    def _load(self, key: AdapterKey) -> _Entry | None:
        adapter_id, path, sha256 = key
        started = time.perf_counter()
        directory = Path(path)
        if not (directory / ADAPTER_CONFIG).is_file() or not (directory / ADAPTER_WEIGHTS).is_file():
            raise AdapterLoadError(
                f"adapter {adapter_id!r}: {path!r} lacks {ADAPTER_CONFIG} or {ADAPTER_WEIGHTS}"
            )
        if sha256 is not None:
            verify_dir_checksum(directory, sha256)
        nbytes = (directory / ADAPTER_WEIGHTS).stat().st_size
        if nbytes > self._max_bytes:
            raise AdapterLoadError(
                f"adapter {adapter_id!r} weighs {nbytes} bytes, more than the cache bound of {self._max_bytes}"
            )
        if not self._make_room(nbytes):
            return None
        name = next(self._names)
        try:
            self._backend.add(name, directory)
        except Exception as exc:  # safetensors/peft raise many types for a bad directory; give the caller one
            raise AdapterLoadError(f"adapter {adapter_id!r} at {path!r} could not be loaded: {exc}") from exc
        entry = _Entry(name=name, nbytes=nbytes)
        self._entries[key] = entry
        self._stats.adapter_loads += 1
        self._stats.adapter_load_ms.append((time.perf_counter() - started) * 1000.0)
        return entry

    def _make_room(self, nbytes: int) -> bool:
        """Evict unpinned adapters, oldest first, until one more of `nbytes` fits."""
        while len(self._entries) >= self._max_adapters or self.loaded_bytes + nbytes > self._max_bytes:
            victim = next((k for k, e in self._entries.items() if e.pins == 0), None)
            if victim is None:
                return False
            self._evict(victim)
        return True

    def _evict(self, key: AdapterKey) -> None:
        entry = self._entries.pop(key)
        self._backend.remove(entry.name)
        self._stats.adapter_evictions += 1
