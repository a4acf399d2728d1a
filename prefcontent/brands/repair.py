"""The smallest edit that makes a text keep the brand's rules: "Save 50% on X." -> "Save 30% on X.".

Used to turn a rule-breaking text into a preference pair that teaches the rule itself (see
prefcontent.preferences.building): the repaired text differs from the original only where the
rule is broken, so a DPO update on the pair moves exactly the offending tokens (the percentage,
the banned sentence) and nothing the audience may like about the rest of the copy.

Repairs, per rule kind:
- max_discount: every claimed percentage above the limit becomes the limit;
- banned_phrase, regex: the sentences that contain the match are dropped;
- required_disclaimer: the disclaimer is appended;
- max_length: none (there is no minimal edit that keeps the message).
A text is repaired only when the result keeps every rule; otherwise `repair_text` returns None.
"""
from __future__ import annotations

import re

from prefcontent.brands.compliance import (
    BANNED_PHRASE,
    MAX_DISCOUNT,
    REGEX,
    REQUIRED_DISCLAIMER,
    CompiledRules,
    cap_discounts,
    check_text,
)
from prefcontent.core.text import folded_text

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _drop_sentences(text: str, hits) -> str:
    """The text without the sentences `hits(sentence)` flags (a trailing emoji goes with its sentence)."""
    sentences = _SENTENCE_END.split(text.strip())
    return " ".join(s for s in sentences if not hits(s))


def repair_text(rules: CompiledRules, text: str, channel: str = "") -> str | None:
    """The repaired text, or None when the text already complies or cannot be repaired."""
    if check_text(rules, text, channel).ok:
        return None
    repaired = text
    for rule in rules.rules:
        spec = rule.spec
        if spec.channel and spec.channel != channel:
            continue
        if spec.kind == MAX_DISCOUNT:
            repaired = cap_discounts(repaired, float(spec.limit))
        elif spec.kind == BANNED_PHRASE:
            repaired = _drop_sentences(repaired, lambda s, rx=rule.regex: rx.search(folded_text(s)))
        elif spec.kind == REGEX:
            repaired = _drop_sentences(repaired, lambda s, rx=rule.regex: rx.search(s))
        elif spec.kind == REQUIRED_DISCLAIMER and rule.needle not in folded_text(repaired):
            repaired = f"{repaired.rstrip()} {spec.pattern}"
    repaired = repaired.strip()
    if not any(ch.isalnum() for ch in repaired) or repaired == text.strip():  # nothing (or only emoji) left
        return None
    return repaired if check_text(rules, repaired, channel).ok else None
