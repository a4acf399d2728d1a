"""A brand's past A/B tests, as the CSV a brand would bring to the history import.

Brands arrive with years of tests of human-written copy. Here that copy is sampled from the
dev grammar for the brand's products and tones, and each variant's clicks are drawn from the
brand's simulated audience, so the history carries the audience's taste (and its noise).
"""
from __future__ import annotations

import csv
import io
import random

import numpy as np

from ml.devmodel import grammar
from simulation.audience import SimBrand


def history_csv(sim: SimBrand, *, tests: int, arms: int = 3, impressions: int = 20_000, seed: int = 0) -> bytes:
    rng = random.Random(seed)
    draws = np.random.default_rng(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["test_id", "variant_text", "impressions", "clicks", "conversions", "product", "audience",
                     "tone", "channel", "is_control"])
    for t in range(tests):
        product, tone = rng.choice(sim.products), rng.choice(sim.tones)
        texts: list[str] = []
        while len(texts) < arms:
            text = grammar.generate_text(rng, sim.channel, product=product, tone=rng.choice(grammar.TONES))
            if text not in texts:
                texts.append(text)
        for i, text in enumerate(texts):
            clicks = int(draws.binomial(impressions, sim.audience.click_probability(text)))
            writer.writerow([f"past-{t}", text, impressions, clicks, 0, product, "everyone", tone, sim.channel,
                             "true" if i == 0 else "false"])
    return out.getvalue().encode()
