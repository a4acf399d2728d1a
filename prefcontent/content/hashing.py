"""The content hash of a variant: the same copy gets the same hash whatever its spacing or form."""
from __future__ import annotations

import hashlib

from prefcontent.core.text import canonical_text


def content_hash(text: str) -> str:
    return hashlib.sha256(canonical_text(text).encode("utf-8")).hexdigest()
