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
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from functools import lru_cache

import numpy as np
from scipy import sparse

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


class TrigramMatrix:
    """The trigram sets of `texts` as a sparse 0/1 matrix: many `trigram_similarity` values in one
    sparse product, equal to the pure-Python ones to the last bit (the same integer counts, divided once)."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = tuple(texts)
        self._vocabulary: dict[str, int] = {}
        self._matrix, self._sizes = self._encode(self.texts, grow=True)

    def __len__(self) -> int:
        return len(self.texts)

    def __iter__(self):
        return iter(self.texts)

    def _encode(self, texts: Sequence[str], *, grow: bool) -> tuple[sparse.csr_matrix, np.ndarray]:
        vocabulary = self._vocabulary
        rows: list[int] = []
        columns: list[int] = []
        sizes = np.empty(len(texts), dtype=np.int64)
        for row, text in enumerate(texts):
            grams = _trigrams(text)
            sizes[row] = len(grams)
            for gram in grams:
                column = vocabulary.setdefault(gram, len(vocabulary)) if grow else vocabulary.get(gram)
                if column is not None:  # a query's trigram no text has counts in its size only
                    rows.append(row)
                    columns.append(column)
        data = np.ones(len(rows), dtype=np.int32)
        shape = (len(texts), max(len(vocabulary), 1))
        return sparse.csr_matrix((data, (rows, columns)), shape=shape), sizes

    def similarities(self, queries: Sequence[str]) -> np.ndarray:
        """[len(queries), len(texts)] float64: trigram_similarity(queries[i], texts[j])."""
        if not queries or not self.texts:
            return np.zeros((len(queries), len(self.texts)))
        matrix, sizes = self._encode(queries, grow=False)
        shared = (matrix @ self._matrix.T).toarray().astype(np.int64)
        return shared / (sizes[:, None] + self._sizes[None, :] - shared)


class TrigramMatrixCache:
    """The last `max_entries` TrigramMatrix built, by key (e.g. a brand's tested copy): rebuilt only
    when the texts under a key change. Thread-safe (a generate worker's task threads share it)."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max(1, max_entries)
        self._entries: OrderedDict[Hashable, TrigramMatrix] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.builds = 0

    def get(self, key: Hashable, texts: Sequence[str]) -> TrigramMatrix:
        texts = tuple(texts)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.texts == texts:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry
        entry = TrigramMatrix(texts)  # outside the lock: other brands' jobs do not wait for this one
        with self._lock:
            self.builds += 1
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return entry

    def forget(self, doomed) -> int:
        """Drop the entries whose key `doomed(key)` is true (an erased brand's copy); how many."""
        with self._lock:
            keys = [key for key in self._entries if doomed(key)]
            for key in keys:
                del self._entries[key]
        return len(keys)

    def keys(self) -> list[Hashable]:
        """The keys held, least recently used first (a snapshot)."""
        with self._lock:
            return list(self._entries)


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
