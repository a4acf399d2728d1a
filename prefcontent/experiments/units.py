"""Unit identifiers are never stored: only an HMAC keyed per brand from settings.UNIT_HASH_KEY.

The per-brand key means the same visitor id hashes differently in two brands, so hashes
cannot be joined across tenants, and without the key a hash cannot be reversed by trying
likely ids. The key is its own setting, not SECRET_KEY: rotating SECRET_KEY (sessions,
signing) must not move every visitor to a new arm. Hashes made when the key was SECRET_KEY
are kept by setting UNIT_HASH_KEY to that value (the derivation is unchanged).
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings

from prefcontent.core.safe_json import unstorable_text

MAX_UNIT_ID_CHARS = 200


def unit_id_problem(unit_id) -> str | None:
    """Why this is not a usable unit id, or None. Hashing encodes it as UTF-8, which a lone surrogate breaks."""
    if not isinstance(unit_id, str) or not unit_id or len(unit_id) > MAX_UNIT_ID_CHARS:
        return f"unit_id must be 1 to {MAX_UNIT_ID_CHARS} characters."
    problem = unstorable_text(unit_id)
    return f"unit_id {problem}." if problem else None


@lru_cache(maxsize=4096)
def _brand_mac(secret: str, brand_id: int) -> hmac.HMAC:
    brand_key = hmac.new(secret.encode(), f"unit-hash:{brand_id}".encode(), hashlib.sha256).digest()
    return hmac.new(brand_key, digestmod=hashlib.sha256)


def unit_hasher(brand_id: int) -> Callable[[str], str]:
    """A function unit_id -> 64 hex chars for one brand (the keyed state is built once, then copied)."""
    base = _brand_mac(settings.UNIT_HASH_KEY, brand_id)

    def hash_unit(unit_id: str) -> str:
        mac = base.copy()
        mac.update(unit_id.encode("utf-8"))
        return mac.hexdigest()

    return hash_unit


def unit_hash(brand_id: int, unit_id: str) -> str:
    return unit_hasher(brand_id)(unit_id)
