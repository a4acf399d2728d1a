"""The content hash of a variant: the same copy gets the same hash whatever its spacing or form."""
from __future__ import annotations

import hashlib
import unicodedata


def normalise_text(text: str) -> str:
    """NFC, trimmed, inner whitespace collapsed to one space. Case is kept: it is part of the copy."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def content_hash(text: str) -> str:
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()
