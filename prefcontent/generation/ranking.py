"""Which n of a best-of request's candidates to serve: the adapter's favourites, kept apart.

Pure: texts and scores in, positions out. Plain top-n by implicit reward serves the adapter's
one favourite phrasing several times over (on the closed-loop simulation it cut the served
texts' distinct-2 by a tenth beyond what the adapter itself lost), and a marketer testing
variants wants them to differ. So the selection is greedy maximal marginal relevance: each
pick maximises the standardised score minus `diversity` times the candidate's highest
similarity (character trigrams, as the duplicate check) to a text already picked, or to one of
the brand's recent generated variants (`seen`): a marketer asking for new copy does not want the
line the last request already served, and one favourite phrasing served request after request
is the loss of diversity the closed loop must avoid.

The score itself is `preference_scores`: the adapter's implicit reward, standardised over the
candidates, plus `evidence_weight` times what the brand's tests say of copy like each candidate
(prefcontent.generation.evidence), in standard deviations of its tested copy.
"""
from __future__ import annotations

import statistics
from collections.abc import Sequence

from prefcontent.core.text import TrigramMatrix


def _standardized(values: Sequence[float]) -> list[float]:
    spread = statistics.pstdev(values) if len(values) > 1 else 0.0
    mean = statistics.fmean(values) if values else 0.0
    return [(v - mean) / spread if spread > 0 else 0.0 for v in values]


def preference_scores(rewards: Sequence[float], evidence: Sequence[float], *, evidence_weight: float) -> list[float]:
    """The adapter's rewards as z-scores over the candidates, plus `evidence_weight` times the evidence
    (already in standard deviations: EvidenceModel.standardized_rate)."""
    if len(rewards) != len(evidence):
        raise ValueError("rewards and evidence must align")
    return [r + evidence_weight * e for r, e in zip(_standardized(rewards), evidence)]


def select_best_diverse(texts: list[str], scores: list[float], n: int, *, diversity: float,
                        seen: Sequence[str] | TrigramMatrix = ()) -> list[int]:
    """Positions of up to n texts in serving order; `diversity` 0 is plain top-n by score.

    Scores are standardised first (z-scores over the candidates), so `diversity` is in standard
    deviations: at 1.0 a text identical to one already picked, or to one in `seen`, gives up one
    sd of score. Ties go to the earlier candidate. `seen` may be a (cached) TrigramMatrix of those texts.
    """
    if len(texts) != len(scores):
        raise ValueError("texts and scores must align")
    if not texts or n <= 0:
        return []
    z = _standardized(scores)
    picked: list[int] = []
    # highest similarity to a picked or an already served text
    closest = [0.0] * len(texts)
    if diversity and len(seen):
        seen_matrix = seen if isinstance(seen, TrigramMatrix) else TrigramMatrix(seen)
        closest = [float(v) for v in seen_matrix.similarities(texts).max(axis=1)]
    among = TrigramMatrix(texts).similarities(texts)
    rest = list(range(len(texts)))
    while rest and len(picked) < n:
        best = max(rest, key=lambda i: (z[i] - diversity * closest[i], -i))
        picked.append(best)
        rest.remove(best)
        for i in rest:
            closest[i] = max(closest[i], float(among[i, best]))
    return picked
