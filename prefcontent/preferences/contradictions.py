"""Contradicting evidence across experiments: A beat B in one, B beat A in another.

Pairs are grouped by `pair_key` (the two texts' content hashes). When a group holds both
directions, the counts of every experiment in it are pooled per text and the stats decide:
if the pooled probability that one text is better reaches the brand's `pair_min_prob`, that
direction stands and the pairs saying the opposite are excluded; otherwise every pair of
the group is excluded, because the evidence does not say which text is better.
"""
from __future__ import annotations

from collections import defaultdict

from django.db.models import Count, Q

from prefcontent.brands.models import Brand
from prefcontent.brands.settings import brand_settings
from prefcontent.content.hashing import content_hash
from prefcontent.preferences.models import CONTRADICTION, PreferencePair
from prefcontent.preferences.weighting import pair_evidence

_CHUNK = 2000


def _pooled_prob(pairs: list[PreferencePair], first: str) -> float:
    """P(text `first` is better) from the pooled counts of every pair in the group."""
    totals = {True: [0, 0], False: [0, 0]}  # is `first` -> [trials, successes]
    for pair in pairs:
        chosen_is_first = content_hash(pair.chosen) == first
        for side, is_first in (("chosen", chosen_is_first), ("rejected", not chosen_is_first)):
            totals[is_first][0] += int(pair.evidence[side]["trials"])
            totals[is_first][1] += int(pair.evidence[side]["successes"])
    (ev,) = pair_evidence([totals[True][0]], [totals[True][1]], [totals[False][0]], [totals[False][1]])
    return ev.prob_better


def _keys_to_review(brand_id: int, keys: list[str]) -> list[str]:
    """Keys with two or more pairs, or with a contradiction to lift: a lone pair contradicts nothing."""
    review = []
    for start in range(0, len(keys), _CHUNK):
        review += (PreferencePair.objects.filter(brand_id=brand_id, pair_key__in=keys[start : start + _CHUNK])
                   .values("pair_key")
                   .annotate(n=Count("id"), flagged=Count("id", filter=Q(exclusion_codes__contains=f"|{CONTRADICTION}|")))
                   .filter(Q(n__gt=1) | Q(flagged__gt=0)).values_list("pair_key", flat=True))
    return review


def contradictions_resolve(*, brand_id: int, pair_keys: set[str]) -> dict[int, tuple[str, str]]:
    """Re-evaluate contradictions for these pair keys of a brand; returns {pair id: (status, reason)} of changes."""
    from prefcontent.preferences.building import set_exclusions

    brand = Brand.objects.get(pk=brand_id)
    min_prob = brand_settings(brand).pair_min_prob
    keys = _keys_to_review(brand_id, sorted(pair_keys))
    groups: dict[str, list[PreferencePair]] = defaultdict(list)
    for start in range(0, len(keys), _CHUNK):
        rows = PreferencePair.objects.filter(brand_id=brand_id, pair_key__in=keys[start : start + _CHUNK]).only(
            "id", "pair_key", "chosen", "evidence", "exclusions", "status", "exclusion_reason", "exclusion_codes")
        for pair in rows:
            groups[pair.pair_key].append(pair)
    changed = []
    for key, pairs in groups.items():
        first = key.split("|")[0]
        directions = {content_hash(p.chosen) == first for p in pairs}
        verdict: dict[int, dict | None] = {p.pk: None for p in pairs}
        if len(directions) == 2:
            prob_first = _pooled_prob(pairs, first)
            if prob_first >= min_prob or prob_first <= 1 - min_prob:
                winner_is_first = prob_first >= min_prob
                for p in pairs:
                    if (content_hash(p.chosen) == first) != winner_is_first:
                        verdict[p.pk] = {"reason": CONTRADICTION, "resolved": True,
                                         "pooled_prob_chosen_better": round(1 - max(prob_first, 1 - prob_first), 6),
                                         "message": "other experiments show the rejected text is better "
                                                    "(pooled evidence)"}
            else:
                for p in pairs:
                    verdict[p.pk] = {"reason": CONTRADICTION, "resolved": False,
                                     "pooled_prob_first_better": round(prob_first, 6),
                                     "message": "experiments disagree on which text is better and the pooled "
                                                f"evidence does not decide (P={prob_first:.3f})"}
        for p in pairs:
            kept = [e for e in p.exclusions if e["reason"] != CONTRADICTION]
            new = kept + ([verdict[p.pk]] if verdict[p.pk] else [])
            if new != p.exclusions:
                set_exclusions(p, new)
                changed.append(p)
    PreferencePair.objects.bulk_update(changed, ["exclusions", "status", "exclusion_reason", "exclusion_codes"],
                                       batch_size=1000)
    return {p.pk: (p.status, p.exclusion_reason) for p in changed}
