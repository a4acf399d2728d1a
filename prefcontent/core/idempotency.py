"""Idempotency-Key on POST: a retried write answers what the first one answered and writes nothing new.

A client that lost the answer to a create (a timeout, a dropped connection) sends the same POST
with the same `Idempotency-Key` header. Per principal and key, the first request's 2xx answer is
stored and replayed (with `Idempotent-Replayed: true`) for KEY_TTL; the same key with another
method, path or body is refused (422 idempotency_key_reused); while the first still runs, a
retry gets 409 idempotency_key_in_progress. Non-2xx answers are not kept, so a corrected
request may reuse the key. Anonymous requests (logging in) are not covered.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http.request import RawPostDataException
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from prefcontent.core.errors import Conflict, InvalidInput
from prefcontent.core.models import IdempotencyRecord

HEADER = "Idempotency-Key"
KEY_TTL = timedelta(hours=24)
MAX_KEY_CHARS = 255


class KeyReused(InvalidInput):
    status_code = 422


@dataclass
class Replay(Exception):
    """Raised by `idempotency_begin` when the stored answer is to be sent again."""

    status_code: int
    body: object


def _hash(request) -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.get_full_path()):
        digest.update(part.encode() + b"\0")
    try:
        digest.update(request.body)
    except RawPostDataException:  # the stream was already parsed (a form): hash what it parsed to
        digest.update(json.dumps(request.data, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def idempotency_begin(request, principal_label: str) -> IdempotencyRecord | None:
    """Claim the key for this request, or raise Replay / Conflict / KeyReused; None without a key."""
    key = request.headers.get(HEADER)
    if key is None or request.method != "POST":
        return None
    if not key or len(key) > MAX_KEY_CHARS or not key.isprintable():
        raise InvalidInput(f"{HEADER} must be 1 to {MAX_KEY_CHARS} printable characters.",
                           code="invalid_idempotency_key")
    request_hash = _hash(request)
    IdempotencyRecord.objects.filter(principal=principal_label, key=key,
                                     created_at__lt=timezone.now() - KEY_TTL).delete()
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(principal=principal_label, key=key, request_hash=request_hash)
    except IntegrityError:
        pass
    stored = IdempotencyRecord.objects.filter(principal=principal_label, key=key).first()
    if stored is None:  # the first request failed and released the key meanwhile: run this one
        return idempotency_begin(request, principal_label)
    if stored.request_hash != request_hash:
        raise KeyReused(f"This {HEADER} was used for another request (method, path or body).",
                        code="idempotency_key_reused")
    if stored.status_code is None:
        raise Conflict(f"A request with this {HEADER} is still running; retry later.",
                       code="idempotency_key_in_progress")
    raise Replay(stored.status_code, stored.response_body)


def idempotency_finish(record: IdempotencyRecord, *, status_code: int, body) -> None:
    """Keep a 2xx answer for replays; release the key otherwise."""
    if 200 <= status_code < 300:
        record.status_code = status_code
        record.response_body = json.loads(JSONRenderer().render(body))  # as the client got it
        record.save(update_fields=["status_code", "response_body"])
    else:
        record.delete()
