"""Copy text as the product compares it: two normal forms and the similarity measures built on them.

Two forms on purpose. `canonical_text` keeps case, which is part of the copy: it decides when two
variants are the same copy (the content hash). `folded_text` also folds case, compatibility
characters, typographic quotes and dashes: it is what compliance rules and similarity match on.

"Near duplicate" means one thing: character-trigram similarity of the folded texts at or above a
threshold (`NEAR_DUPLICATE_SIMILARITY` unless a brand or operator sets another), used by the pair
filter and generation. The promotion gate measures something else, how often a batch's word sets
overlap (`word_jaccard`, blind to word order), and names it so.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

NEAR_DUPLICATE_SIMILARITY = 0.9
_TYPOGRAPHIC = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"})
_PUNCT = re.compile(r"[^\w%$€£ ]+")


def canonical_text(text: str) -> str:
    """NFC, trimmed, inner whitespace collapsed to one space. Case is kept: it is part of the copy."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def folded_text(text: str) -> str:
    """NFKC, case-folded, typographic quotes and dashes made plain, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).translate(_TYPOGRAPHIC)
    return " ".join(text.casefold().split())


@lru_cache(maxsize=65536)  # a winner is compared with every arm it beat: shingle it once
def _trigrams(text: str, n: int = 3) -> frozenset[str]:
    t = " ".join(_PUNCT.sub(" ", folded_text(text)).split())
    if len(t) <= n:
        return frozenset((t,))
    return frozenset(t[i : i + n] for i in range(len(t) - n + 1))


def trigram_similarity(a: str, b: str) -> float:
    """Jaccard similarity of the character trigrams of the folded, punctuation-light texts, in [0, 1]
    (1.0 for texts equal after folding): robust to a changed word or punctuation, cheap, symmetric."""
    sa, sb = _trigrams(a), _trigrams(b)
    return len(sa & sb) / len(sa | sb)


def is_near_duplicate(a: str, b: str, threshold: float = NEAR_DUPLICATE_SIMILARITY) -> tuple[bool, float]:
    """(near duplicate?, trigram similarity)."""
    score = trigram_similarity(a, b)
    return score >= threshold, score


def words(text: str) -> list[str]:
    """Lower-cased, whitespace-separated words: the unit of the diversity measures."""
    return text.lower().split()


def word_jaccard(a: str, b: str) -> float:
    """Jaccard similarity of the two texts' word sets (order-blind; 1.0 for two texts without words)."""
    sa, sb = set(words(a)), set(words(b))
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)


def distinct_n(texts: Sequence[str], n: int = 2) -> float:
    """Unique word n-grams over all n-grams across `texts` (1.0 = no repetition; 0.0 when there are none)."""
    grams = [tuple(w[i:i + n]) for w in map(words, texts) for i in range(len(w) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0
