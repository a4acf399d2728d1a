"""Plain computations behind the promotion gate (no ORM, no torch): text diversity, length, significance."""
from __future__ import annotations

import math
from collections.abc import Sequence


def _words(text: str) -> list[str]:
    return text.lower().split()


def distinct_n(texts: Sequence[str], n: int = 2) -> float:
    """Unique word n-grams over all n-grams across `texts` (0.0 when there are none)."""
    grams = [tuple(w[i:i + n]) for w in map(_words, texts) for i in range(len(w) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def jaccard(a: str, b: str) -> float:
    sa, sb = set(_words(a)), set(_words(b))
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)


def near_duplicate_rate(texts: Sequence[str], threshold: float = 0.8) -> float:
    """Share of texts whose word set overlaps some other text's by Jaccard >= `threshold`."""
    if len(texts) < 2:
        return 0.0
    dup = [False] * len(texts)
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            if jaccard(texts[i], texts[j]) >= threshold:
                dup[i] = dup[j] = True
    return sum(dup) / len(texts)


def mean_words(texts: Sequence[str]) -> float:
    return sum(len(_words(t)) for t in texts) / len(texts) if texts else 0.0


def changed_fraction(before: Sequence[str], after: Sequence[str]) -> float:
    """Share of positions where the two aligned lists of texts differ."""
    if len(before) != len(after):
        raise ValueError("the two lists of generations must be aligned")
    return sum(a != b for a, b in zip(before, after)) / len(before) if before else 0.0


def binomial_p_at_least(k: int, n: int, p: float = 0.5) -> float:
    """One-sided P(X >= k) for X ~ Binomial(n, p): how surprising k successes are under chance."""
    if n <= 0:
        return 1.0
    return min(1.0, sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(max(k, 0), n + 1)))
