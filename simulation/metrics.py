"""Per-round measurements of generated copy: well-formedness, endings, diversity, compliance, true CTR, ceiling.

Every measure reads free text, so a round of any model's copy is measured the same way.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import date

from ml.serving.stops import ENDED
from prefcontent.content.channels import channel_form
from prefcontent.content.claims import check_claims, claim_problems
from prefcontent.content.claims.facts import facts_read
from prefcontent.content.wellformed import well_formed_flags
from prefcontent.core.text import distinct_n
from simulation.audience import Audience
from simulation.copywriter import write_copy


def valid_rate(texts: Sequence[str], channel: str, prompts: Sequence[str] | str = "") -> float:
    """Share of texts that are well-formed copy for `channel` (prefcontent.content.wellformed)."""
    return sum(well_formed_flags(texts, channel, prompts)) / len(texts) if texts else 0.0


def ended_rate(finish_reasons: Sequence[str]) -> float:
    """Share of samples the model ended itself (ml.serving.stops.ENDED), not a limit."""
    return sum(r in ENDED for r in finish_reasons) / len(finish_reasons) if finish_reasons else 0.0


def headroom_captured(first_ctr: float, last_ctr: float, ceiling: float) -> float | None:
    """(last - first) / (ceiling - first): the share of the room above round 0 that the loop took."""
    room = ceiling - first_ctr
    return (last_ctr - first_ctr) / room if room > 0 else None


def distinct_n_at(texts: list[str], size: int, *, n: int = 2, draws: int = 20, seed: int = 0) -> float:
    """distinct-n at a fixed corpus size: the mean over `draws` random subsets of `size` texts (all
    of them when there are fewer). distinct-n falls as a corpus grows (more chances to repeat an
    n-gram), so rounds that served different numbers of texts are compared at one size."""
    if len(texts) <= size:
        return distinct_n(texts, n)
    rng = random.Random(seed)
    return sum(distinct_n(rng.sample(texts, size), n) for _ in range(draws)) / draws


def unsupported_claim_rate(texts_and_briefs: Sequence[tuple[str, object]], today: date) -> float:
    """Share of texts with a claim their brief's facts contradict or do not support (a brief without facts: none)."""
    if not texts_and_briefs:
        return 0.0
    hits = 0
    for text, brief in texts_and_briefs:
        facts = facts_read(getattr(brief, "facts", None))
        hits += bool(facts and claim_problems(check_claims(text, facts, today=today, product=brief.product or "")))
    return hits / len(texts_and_briefs)


def violation_rate(texts: list[str], allowed: Callable[[str], bool]) -> float:
    return sum(not allowed(t) for t in texts) / len(texts) if texts else 0.0


def ceiling_ctr(audience: Audience, allowed: Callable[[str], bool], *, channel: str, products: tuple[str, ...],
                samples: int = 20_000, seed: int = 0) -> float:
    """The best true click probability an allowed, well-formed text reaches (a sampled search).

    A lower bound of the true maximum: human-style copy (simulation.copywriter) is sampled broadly,
    across tones and products, and the best allowed text found is kept.
    """
    rng = random.Random(seed)
    tones = ("value", "urgent", "curious", "playful", "premium")
    best, max_chars = 0.0, channel_form(channel).max_chars
    for _ in range(samples):
        text = write_copy(rng, product=rng.choice(products), tone=rng.choice(tones), max_chars=max_chars)
        if allowed(text) and well_formed_flags([text], channel)[0]:
            best = max(best, audience.click_probability(text))
    return best
