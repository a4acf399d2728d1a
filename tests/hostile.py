"""Helpers for sending what a hostile or careless client sends: raw JSON bytes, any method."""
from __future__ import annotations

import json

ERROR_KEYS = {"code", "message", "details"}


def send(client, method: str, url: str, body) -> object:
    """`body` as JSON (ensure_ascii, so lone surrogates travel as \\ud800 escapes) or as raw bytes/str."""
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    return getattr(client, method.lower())(url, data=body, content_type="application/json")


def assert_error_shape(response, status: int | tuple[int, ...], code: str | None = None) -> dict:
    statuses = (status,) if isinstance(status, int) else status
    assert response.status_code in statuses, (response.status_code, response.content[:500])
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == ERROR_KEYS, body
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


def nested(depth: int) -> str:
    """A JSON object whose value nests `depth` arrays deep (a 2 KB body at depth 1,000)."""
    return '{"name": ' + "[" * depth + "]" * depth + "}"
