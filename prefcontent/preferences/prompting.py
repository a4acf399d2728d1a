"""The canonical prompt of a brief: one function, versioned, used by training and generation alike.

The format is the dev model's training format (`ml.devmodel.grammar.render_brief`),
imported rather than copied so the two cannot drift. Bump PROMPT_VERSION whenever the
rendered text changes: pairs and snapshots record the version they were built with.
"""
from __future__ import annotations

from ml.devmodel.grammar import render_brief

PROMPT_VERSION = "brief-v1"


def _field(value: str | None) -> str:
    # One line per field: a multi-line brand voice must not add or fake prompt lines.
    return " ".join((value or "").split())


def render_prompt(*, brand, brief, channel: str) -> str:
    """The prompt for copy answering `brief` (may be None) for `brand` on `channel`."""
    return render_brief(
        brand=_field(brand.name),
        voice=_field(brand.voice),
        channel=_field(channel),
        product=_field(getattr(brief, "product", "")),
        audience=_field(getattr(brief, "audience", "")),
        tone=_field(getattr(brief, "tone", "")),
    )
