"""Bounded serializer fields: every integer and float a client sends fits the column or engine it reaches.

An unbounded `IntegerField` lets 10**20 through to the database (an overflow, i.e. a 500) and a
`FloatField` lets 1e308 through to arithmetic that turns it into inf or 0. These fields carry the
bounds once; the parser already refuses integers outside 64 bits (`core.safe_json`).
"""
from __future__ import annotations

from rest_framework import serializers

ID_MAX = 2**63 - 1  # a BigAutoField primary key
INT32_MAX = 2**31 - 1  # IntegerField / PositiveIntegerField on PostgreSQL


def IdField(**kwargs) -> serializers.IntegerField:  # noqa: N802 - reads as a field class at the call site
    """A primary key: a positive integer of at most 64 bits (ids that cannot exist are 400, not 500)."""
    kwargs.setdefault("min_value", 1)
    kwargs.setdefault("max_value", ID_MAX)
    return serializers.IntegerField(**kwargs)


def Int32Field(**kwargs) -> serializers.IntegerField:  # noqa: N802
    """An integer stored in a 32-bit column."""
    kwargs.setdefault("min_value", -INT32_MAX - 1)
    kwargs.setdefault("max_value", INT32_MAX)
    return serializers.IntegerField(**kwargs)


def parse_id(text) -> int | None:
    """An id from a query string or form ("12"), or None: ASCII digits only ("²".isdigit() is true), 64 bits."""
    if not isinstance(text, str) or not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    value = int(text)
    return value if 1 <= value <= ID_MAX else None
