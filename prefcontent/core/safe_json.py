"""JSON from clients, parsed defensively: bounded depth, finite numbers, text PostgreSQL can store.

Python's json accepts what the database and the rest of the code cannot: NaN and Infinity,
numbers that overflow to inf, lone surrogates (`"\\ud800"`, which no UTF-8 encoder takes) and NUL
(PostgreSQL's text and jsonb refuse it), and nesting deep enough to exhaust the recursion of the
parser or of any code that walks the value. `parse_json` refuses each of these with its own
`BodyRefused` code, so every route answers the same 400 whatever it does with the value next.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any

from prefcontent.core.errors import InvalidInput

MAX_JSON_DEPTH = 32  # objects and arrays inside each other; the deepest real body (events, settings) is 4
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class BodyRefused(InvalidInput):
    """A request body (or an uploaded row) that no route could use."""

    code = "malformed_request"


def unstorable_text(value: str) -> str | None:
    """Why PostgreSQL could not store this text (a NUL or a lone surrogate), or None when it can."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    return "contains a NUL character" if found.group() == "\x00" else "contains a lone surrogate"


def _label(key: str) -> str:
    """A key as it may appear in an error message (which must itself be storable and encodable)."""
    return key[:40].encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _no_constants(name: str) -> None:
    raise BodyRefused(f"{name} is not a JSON number.", code="malformed_request", details={"reason": "non_finite"})


def check_json_value(value: Any, *, max_depth: int = MAX_JSON_DEPTH, check_text: bool = True) -> Any:
    """Raise BodyRefused when a parsed value nests too deep, holds a non-finite number or (unless
    `check_text` is false) unstorable text."""
    stack: list[tuple[Any, int, str]] = [(value, 0, "$")]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, str):
            problem = unstorable_text(item) if check_text else None
            if problem:
                raise BodyRefused(f"The text at {path} {problem}.", code="invalid_text",
                                  details={"path": path, "reason": problem})
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise BodyRefused(f"The number at {path} is too large.", code="malformed_request",
                                  details={"path": path, "reason": "non_finite"})
        elif isinstance(item, (dict, list)):
            if depth >= max_depth:
                raise BodyRefused(f"JSON nests deeper than {max_depth} levels.", code="json_too_deep",
                                  details={"max_depth": max_depth})
            if isinstance(item, dict):
                for key, child in item.items():
                    stack.append((key, depth + 1, path))  # a key is text too
                    stack.append((child, depth + 1, f"{path}.{_label(key)}"))
            else:
                stack.extend((child, depth + 1, f"{path}[{i}]") for i, child in enumerate(item))
    return value


def parse_json(raw: bytes | str, *, max_depth: int = MAX_JSON_DEPTH, check_text: bool = True) -> Any:
    """The value of a JSON document, or BodyRefused (400) saying what is wrong with it.

    `check_text=False` leaves NUL and lone surrogates in, for a caller that refuses them item by item
    (the events path rejects one event, not the batch)."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BodyRefused(f"The body is not valid UTF-8 (byte {exc.start}).",
                              details={"reason": "invalid_utf8"}) from None
    try:
        value = json.loads(raw, parse_constant=_no_constants)
    except RecursionError:
        raise BodyRefused(f"JSON nests deeper than {max_depth} levels.", code="json_too_deep",
                          details={"max_depth": max_depth}) from None
    except ValueError as exc:  # JSONDecodeError, and integers of more than 4,300 digits
        raise BodyRefused(f"The body is not valid JSON: {str(exc)[:200]}", details={"reason": "invalid_json"}) from None
    return check_json_value(value, max_depth=max_depth, check_text=check_text)
