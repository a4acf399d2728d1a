"""Simulated audiences: the probability that a reader clicks a text.

p(click | text) = sigmoid(logit(base_ctr) + sum_f w_f * x_f(text) + eps(text)), where x_f are
the features the dev grammar exposes (`ml.devmodel.grammar.features`), w_f are the
brand audience's hidden weights (each within ±0.7, so lift has to be learned, not configured),
and eps is a fixed per-text random effect (the taste nobody can explain). Clicks are then drawn
from that probability, which adds sampling noise on top.
"""
from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass, field

from ml.devmodel import grammar

MAX_EFFECT = 0.7


def feature_vector(text: str) -> dict[str, float]:
    """The audience-facing features of a text, each scaled to [0, 1]."""
    f = grammar.features(text)
    pct = f["discount_pct"] or 0
    return {
        "discount": min(pct, 60) / 60.0,
        "urgency": float(f["urgency"]),
        "question": float(f["question"]),
        "emoji": float(f["emoji"] > 0),
        "short": float(f["length_words"] <= 7),
        "product_named": float(f["product_named"] is not None),
        "opener": float(f["opener"]),
        "cta": float(f["cta"]),
    }


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


@dataclass(frozen=True)
class Audience:
    name: str
    base_ctr: float  # click probability of a text with no features, in [0.01, 0.05]
    weights: dict[str, float]  # feature -> effect on the log-odds, each within ±MAX_EFFECT
    text_noise_sd: float = 0.15  # sd of the fixed per-text random effect on the log-odds
    seed: int = 0

    def __post_init__(self):
        if not 0.01 <= self.base_ctr <= 0.05:
            raise ValueError("base_ctr must lie in [0.01, 0.05]")
        bad = {k: v for k, v in self.weights.items() if abs(v) > MAX_EFFECT}
        if bad:
            raise ValueError(f"effects outside ±{MAX_EFFECT}: {bad}")

    def _text_effect(self, text: str) -> float:
        digest = hashlib.sha256(f"{self.name}:{self.seed}:{text}".encode()).digest()
        return random.Random(digest).gauss(0.0, self.text_noise_sd)

    def click_probability(self, text: str) -> float:
        x = feature_vector(text)
        z = _logit(self.base_ctr) + sum(self.weights.get(k, 0.0) * v for k, v in x.items())
        z += self._text_effect(text)
        return 1.0 / (1.0 + math.exp(-z))

    def true_ctr(self, texts: list[str]) -> float:
        return sum(self.click_probability(t) for t in texts) / len(texts) if texts else 0.0


@dataclass(frozen=True)
class SimBrand:
    """A simulated brand: its audience, its compliance rules and its brief fields."""

    name: str
    voice: str
    audience: Audience
    rules: dict  # compliance rules in the brands app's format
    products: tuple[str, ...]
    channel: str = "headline"
    tones: tuple[str, ...] = ("value", "curious", "playful", "urgent", "premium")
    extra: dict = field(default_factory=dict)


def default_brands(seed: int = 0) -> list[SimBrand]:
    """Two brands with different tastes and rules.

    Northpeak's readers like concrete discounts and short lines, and would click "50% off" even
    more, but Northpeak may not claim more than 30% and never says "Hurry": the
    confident-over-correct trap. Brewhaus's readers like questions and emoji and dislike urgency;
    Brewhaus bans "Last chance".
    """
    northpeak = SimBrand(
        name="Northpeak",
        voice="direct, no hype",
        audience=Audience("northpeak-readers", base_ctr=0.02, seed=seed, weights={
            "discount": 0.7, "short": 0.5, "urgency": 0.25, "question": -0.35, "emoji": -0.2,
            "product_named": 0.3, "opener": -0.1, "cta": 0.1,
        }),
        rules={"max_discount_pct": 30, "banned_phrases": ["hurry"]},
        products=("running shoes", "trail sneakers", "rain jackets", "backpacks"),
    )
    brewhaus = SimBrand(
        name="Brewhaus",
        voice="playful and warm",
        audience=Audience("brewhaus-readers", base_ctr=0.03, seed=seed, weights={
            "question": 0.7, "urgency": -0.6, "emoji": 0.35, "discount": 0.1, "short": -0.1,
            "product_named": 0.25, "opener": 0.2, "cta": -0.15,
        }),
        rules={"banned_phrases": ["last chance"]},
        products=("cold brew", "espresso beans", "scented candles", "throw pillows"),
    )
    return [northpeak, brewhaus]
