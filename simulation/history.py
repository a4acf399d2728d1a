"""A brand's past A/B tests, as the CSV a brand would bring to the history import.

Brands arrive with years of tests of human-written copy. Here that copy is free text written by the
simulated copywriters (simulation.copywriter) for the brand's products and tones, and each variant's clicks are drawn from the
brand's simulated audience, so the history carries the audience's taste (and its noise).
"""
from __future__ import annotations

import csv
import io
import random

import numpy as np

from prefcontent.content.wellformed import channel_form
from simulation.audience import SimBrand
from simulation.copywriter import write_copy


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
            text = write_copy(rng, product=product, tone=rng.choice(sim.tones),
                              max_chars=channel_form(sim.channel).max_chars)
            if text not in texts:
                texts.append(text)
        for i, text in enumerate(texts):
            clicks = int(draws.binomial(impressions, sim.audience.click_probability(text)))
            writer.writerow([f"past-{t}", text, impressions, clicks, 0, product, "everyone", tone, sim.channel,
                             "true" if i == 0 else "false"])
    return out.getvalue().encode()
