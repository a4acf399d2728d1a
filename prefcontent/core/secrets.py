"""Credentials shown once: `<kind>_<prefix>_<secret>`; the database keeps prefix + sha256."""
from __future__ import annotations

import hashlib
import hmac
import secrets as pysecrets
from dataclasses import dataclass


@dataclass(frozen=True)
class IssuedSecret:
    plaintext: str
    prefix: str
    secret_hash: str


def hash_secret(plaintext: str) -> str:
    # Keys carry 256 bits of entropy, so a fast hash is enough (no password stretching needed).
    return hashlib.sha256(plaintext.encode()).hexdigest()


def issue_secret(kind: str) -> IssuedSecret:
    prefix = pysecrets.token_hex(6)
    body = pysecrets.token_urlsafe(32)
    plaintext = f"{kind}_{prefix}_{body}"
    return IssuedSecret(plaintext=plaintext, prefix=prefix, secret_hash=hash_secret(plaintext))


def parse_prefix(plaintext: str, kind: str) -> str | None:
    parts = plaintext.split("_", 2)
    if len(parts) != 3 or parts[0] != kind or len(parts[1]) != 12:
        return None
    return parts[1]


def matches(plaintext: str, secret_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(plaintext), secret_hash)
