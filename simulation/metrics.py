"""Per-round measurements of generated copy: validity, diversity, compliance, true CTR, ceiling."""
from __future__ import annotations

import random
from collections.abc import Callable

from ml.devmodel import grammar
from prefcontent.core.text import distinct_n
from simulation.audience import Audience


def valid_rate(texts: list[str]) -> float:
    return sum(grammar.parse(t) is not None for t in texts) / len(texts) if texts else 0.0


def distinct_n_at(texts: list[str], size: int, *, n: int = 2, draws: int = 20, seed: int = 0) -> float:
    """distinct-n at a fixed corpus size: the mean over `draws` random subsets of `size` texts (all
    of them when there are fewer). distinct-n falls as a corpus grows (more chances to repeat an
    n-gram), so rounds that served different numbers of texts are compared at one size."""
    if len(texts) <= size:
        return distinct_n(texts, n)
    rng = random.Random(seed)
    return sum(distinct_n(rng.sample(texts, size), n) for _ in range(draws)) / draws


def violation_rate(texts: list[str], allowed: Callable[[str], bool]) -> float:
    return sum(not allowed(t) for t in texts) / len(texts) if texts else 0.0


def ceiling_ctr(audience: Audience, allowed: Callable[[str], bool], *, channel: str, products: tuple[str, ...],
                samples: int = 20_000, seed: int = 0) -> float:
    """The best true click probability an allowed grammatical text reaches (a sampled search).

    A lower bound of the true maximum: the grammar is sampled broadly, across tones and products,
    and the best allowed text found is kept.
    """
    rng = random.Random(seed)
    best = 0.0
    for _ in range(samples):
        text = grammar.generate_text(rng, channel, product=rng.choice(products), tone=rng.choice(grammar.TONES))
        if allowed(text):
            best = max(best, audience.click_probability(text))
    return best
