"""Which n of a best-of request's candidates to serve: the adapter's favourites, kept apart.

Pure: texts and scores in, positions out. Plain top-n by implicit reward serves the adapter's
one favourite phrasing several times over (on the closed-loop simulation it cut the served
texts' distinct-2 by a tenth beyond what the adapter itself lost), and a marketer testing
variants wants them to differ. So the selection is greedy maximal marginal relevance: each
pick maximises the standardised score minus `diversity` times the candidate's highest
similarity (character trigrams, as the duplicate check) to a text already picked.
"""
from __future__ import annotations

import statistics

from prefcontent.preferences.textsim import similarity


def select_best_diverse(texts: list[str], scores: list[float], n: int, *, diversity: float) -> list[int]:
    """Positions of up to n texts in serving order; `diversity` 0 is plain top-n by score.

    Scores are standardised first (z-scores over the candidates), so `diversity` is in standard
    deviations: at 1.0 a text identical to one already picked gives up one sd of score. Ties go
    to the earlier candidate.
    """
    if len(texts) != len(scores):
        raise ValueError("texts and scores must align")
    if not texts or n <= 0:
        return []
    spread = statistics.pstdev(scores) if len(scores) > 1 else 0.0
    mean = statistics.fmean(scores)
    z = [(s - mean) / spread if spread > 0 else 0.0 for s in scores]
    picked: list[int] = []
    closest = [0.0] * len(texts)  # highest similarity to a picked text
    rest = list(range(len(texts)))
    while rest and len(picked) < n:
        best = max(rest, key=lambda i: (z[i] - diversity * closest[i], -i))
        picked.append(best)
        rest.remove(best)
        for i in rest:
            closest[i] = max(closest[i], similarity(texts[i], texts[best]))
    return picked
