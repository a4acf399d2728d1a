"""Errors raised by the artifact store; callers catch `StoreError` for all of them."""

from __future__ import annotations


class StoreError(Exception):
    """Base class for every artifact store failure."""


class ArtifactNotFound(StoreError):
    """No artifact is stored under the key."""


class ArtifactExists(StoreError):
    """The key already holds an artifact; versions are immutable."""


class ChecksumMismatch(StoreError):
    """The stored bytes do not hash to the checksum the caller expected."""

    def __init__(self, key: str, expected: str, actual: str) -> None:
        super().__init__(
            f"checksum mismatch for artifact {key!r}: expected sha256 {expected}, "
            f"found {actual}; refusing to load it"
        )
        self.key = key
        self.expected = expected
        self.actual = actual


class StoreWriteError(StoreError):
    """Writing an artifact failed (disk full, permission denied, ...); nothing was published."""
