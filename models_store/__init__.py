"""Versioned, checksummed artifact store (standard library only, never Django)."""

from models_store.base import ArtifactRef, ArtifactStore, validate_key
from models_store.checksum import DirDigest, dir_checksum, dir_digest
from models_store.errors import (
    ArtifactExists,
    ArtifactNotFound,
    ChecksumMismatch,
    StoreError,
    StoreWriteError,
)
from models_store.factory import get_store
from models_store.local import LocalStore

__all__ = [
    "ArtifactExists",
    "ArtifactNotFound",
    "ArtifactRef",
    "ArtifactStore",
    "ChecksumMismatch",
    "DirDigest",
    "LocalStore",
    "StoreError",
    "StoreWriteError",
    "dir_checksum",
    "dir_digest",
    "get_store",
    "validate_key",
]
