"""Real copy for similarity tests: the simulation's copywriter (free phrasing, emoji, discounts written
several ways), plus the texts where trigram shingling has edge cases (empty, short, punctuation only)."""
from __future__ import annotations

import random

from simulation.copywriter import write_copy

EDGE_TEXTS = ["", "a", "ab", "abc", "!!!", "  ", "ÉCLAIR", "Éclair", "🔥🔥", "“Quoted” — dash", "50% off",
              "Save 20% on trail shoes today", "20% off trail running shoes this week"]


def copy_texts(count: int, *, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    products = ("running shoes", "cold brew", "rain jackets", "desk lamps", "wool socks")
    texts = [write_copy(rng, product=rng.choice(products), tone=rng.choice(("", "value", "urgent", "curious")),
                        max_chars=200) for _ in range(count)]
    return texts + texts[: count // 10]  # exact repeats, as tested copy has
