"""Near-duplicate detection between two copy texts.

Character trigram Jaccard on case-folded, punctuation-light text: robust to a changed
word or punctuation, cheap (no model), and symmetric. Two texts at or above the threshold
differ too little for a preference between them to teach anything but noise.
"""
from __future__ import annotations

import re
from functools import lru_cache

from prefcontent.brands.compliance import normalize_text

DEFAULT_THRESHOLD = 0.9
_PUNCT = re.compile(r"[^\w%$€£ ]+")


@lru_cache(maxsize=65536)  # a winner is compared with every arm it beat: shingle it once
def _shingles(text: str, n: int = 3) -> frozenset[str]:
    t = " ".join(_PUNCT.sub(" ", normalize_text(text)).split())
    if len(t) <= n:
        return frozenset((t,))
    return frozenset(t[i : i + n] for i in range(len(t) - n + 1))


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of character trigrams, in [0, 1] (1.0 for texts equal after normalisation)."""
    sa, sb = _shingles(a), _shingles(b)
    return len(sa & sb) / len(sa | sb)


def is_near_duplicate(a: str, b: str, threshold: float = DEFAULT_THRESHOLD) -> tuple[bool, float]:
    """(near duplicate?, similarity)."""
    score = similarity(a, b)
    return score >= threshold, score
