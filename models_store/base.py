"""Shared types of the artifact store: the reference a put returns, the protocol, keys."""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from models_store.errors import StoreError

# Segments may not start with "." so the store's own ".tmp" and ".trash" never collide.
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
_MAX_KEY_CHARS = 512


@dataclass(frozen=True)
class ArtifactRef:
    """A published artifact, as the database should record it."""

    key: str  # where it lives, e.g. "brands/7/adapters/v3"
    sha256: str  # dir_checksum of its content, hex
    size_bytes: int  # total bytes of its regular files
    files: tuple[str, ...]  # POSIX relative paths of its files, sorted

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["files"] = list(self.files)
        return data


def validate_key(key: str) -> str:
    """Return `key` if it is a well-formed store key, else raise StoreError.

    A key is one or more "/"-separated segments of letters, digits, "_", "-" and ".",
    not starting with "."; no leading, trailing or doubled slashes.
    """
    if not isinstance(key, str) or not key or len(key) > _MAX_KEY_CHARS:
        raise StoreError(f"invalid artifact key {key!r}: must be 1-{_MAX_KEY_CHARS} characters")
    for segment in key.split("/"):
        if not _SEGMENT.fullmatch(segment):
            raise StoreError(
                f"invalid artifact key {key!r}: segment {segment!r} must match {_SEGMENT.pattern}"
            )
    return key


@runtime_checkable
class ArtifactStore(Protocol):
    """A versioned, checksummed store of directories; keys are immutable once written."""

    def put_dir(self, src_dir: str | os.PathLike[str], key: str) -> ArtifactRef:
        """Publish a copy of `src_dir` under `key` atomically; raise ArtifactExists if taken."""
        ...

    def get_dir(self, key: str, expected_sha256: str) -> Path:
        """A local directory with the artifact's files, after verifying the checksum."""
        ...

    def verify(self, key: str, expected_sha256: str) -> ArtifactRef:
        """Recompute the checksum of `key`; raise ChecksumMismatch if it differs."""
        ...

    def stat(self, key: str) -> ArtifactRef:
        """The reference recorded at publish time, without re-hashing."""
        ...

    def exists(self, key: str) -> bool:
        """Whether an artifact is published under `key`."""
        ...

    def list(self, prefix: str = "") -> list[ArtifactRef]:
        """Artifacts at or under `prefix` (segment-wise), sorted by key."""
        ...

    def delete(self, key: str) -> None:
        """Remove one artifact; raise ArtifactNotFound if absent."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Remove every artifact at or under `prefix`; return how many."""
        ...

    def cleanup_stale(self, max_age_s: float = ...) -> int:
        """Remove leftovers of crashed writes older than `max_age_s`; return how many."""
        ...
