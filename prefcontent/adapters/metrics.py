"""Plain computations behind the promotion gate (no ORM, no torch): word overlap, length, significance.

Distinct-n and the word measures themselves live in prefcontent.core.text.
"""
from __future__ import annotations

from collections.abc import Sequence

from scipy.stats import binom

from prefcontent.core.text import word_jaccard, words


def word_overlap_rate(texts: Sequence[str], threshold: float = 0.8) -> float:
    """Share of texts whose word set overlaps some other text's by Jaccard >= `threshold` (order-blind,
    unlike the trigram near-duplicate check: a batch that reshuffles the same words counts as repeating)."""
    if len(texts) < 2:
        return 0.0
    dup = [False] * len(texts)
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            if word_jaccard(texts[i], texts[j]) >= threshold:
                dup[i] = dup[j] = True
    return sum(dup) / len(texts)


def mean_words(texts: Sequence[str]) -> float:
    return sum(len(words(t)) for t in texts) / len(texts) if texts else 0.0


def changed_fraction(before: Sequence[str], after: Sequence[str]) -> float:
    """Share of positions where the two aligned lists of texts differ."""
    if len(before) != len(after):
        raise ValueError("the two lists of generations must be aligned")
    return sum(a != b for a, b in zip(before, after)) / len(before) if before else 0.0


def binomial_p_at_least(k: int, n: int, p: float = 0.5) -> float:
    """One-sided P(X >= k) for X ~ Binomial(n, p): how surprising k successes are under chance.

    scipy's survival function, not a sum of terms: math.comb(n, i) * p**i overflows a float from
    about 1,050 trials, and a gate must still judge a holdout of 100,000 pairs."""
    if n <= 0:
        return 1.0
    return float(binom.sf(k - 1, n, p))


def binomial_p_at_most(k: int, n: int, p: float) -> float:
    """One-sided P(X <= k) for X ~ Binomial(n, p): how surprising a shortfall to k is under chance.
    The CDF itself, not 1 - P(X >= k + 1), which loses every digit once that tail is near 1."""
    if n <= 0:
        return 1.0
    return float(binom.cdf(k, n, p))
