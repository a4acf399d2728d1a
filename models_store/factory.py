"""Build a store from the configured location string (e.g. the MODELS_STORE_URL setting)."""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

from models_store.base import ArtifactStore
from models_store.errors import StoreError
from models_store.local import LocalStore


def get_store(location: str | os.PathLike[str]) -> ArtifactStore:
    """A store for `location`: "file:///abs/path" or a plain filesystem path.

    Only the local filesystem backend exists; any other URL scheme is refused rather
    than silently treated as a path.
    """
    text = os.fspath(location)
    if not text:
        raise StoreError("models store location is empty")
    parts = urlsplit(text)
    if not parts.scheme:
        return LocalStore(text)
    if parts.scheme != "file":
        raise StoreError(f"unsupported models store URL scheme {parts.scheme!r} in {text!r}")
    if parts.netloc not in ("", "localhost"):
        raise StoreError(f"file URL must name a local path, not host {parts.netloc!r}: {text!r}")
    path = unquote(parts.path)
    if not path.startswith("/"):
        raise StoreError(f"file URL must hold an absolute path: {text!r}")
    return LocalStore(path)
