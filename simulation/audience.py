"""Simulated audiences: the probability that a reader clicks a text.

p(click | text) = sigmoid(logit(base_ctr) + sum_f w_f * x_f(text) + eps(text)), where x_f are
features a reader notices, read off any free text (`feature_vector`: so the audience scores any
model's copy, the dev model's or a pretrained one's), w_f are the brand audience's hidden weights (each within ±0.7, so lift has to be learned, not configured),
and eps is a fixed per-text random effect (the taste nobody can explain). Clicks are then drawn
from that probability, which adds sampling noise on top.
"""
from __future__ import annotations

import hashlib
import math
import random
import re
from dataclasses import dataclass, field

from prefcontent.content.claims import extract_claims
from prefcontent.content.claims.extract import percent_discounts

MAX_EFFECT = 0.7
CTA = re.compile(
    r"\b(?:shop|buy|order|get|grab|claim|discover|explore|try|tap|click|book|find|see|join|sign up|start)\b"
    r"(?:\s+\w+){0,3}?\s*(?:now|today|yours|the (?:collection|range|sale)|to shop|more|them|it|your \w+)\b",
    re.IGNORECASE)
# A hook before the copy: "New: ...", "Big news: ...", "Psst! ...", "Hey there! ...".
OPENER = re.compile(r"^\s*(?:(?:[\w'’&]+\s){0,2}[\w'’&]+:|(?:psst|hey(?: there)?|hi|good news|big news|guess what)[!,])\s+\S",
                    re.IGNORECASE)


def _is_emoji(ch: str) -> bool:
    code = ord(ch)
    return 0x1F000 <= code <= 0x1FAFF or 0x2600 <= code <= 0x27BF or 0x2300 <= code <= 0x23FF or code == 0x2B50


def product_named(text: str, products: tuple[str, ...]) -> bool:
    """The text names one of the products, by its head noun ("shoes" for "running shoes"), plural or not."""
    lower = text.lower()
    for product in products:
        head = product.lower().split()[-1]
        stem = head[:-1] if head.endswith("s") and len(head) > 3 else head
        if re.search(rf"\b{re.escape(stem)}s?\b", lower):
            return True
    return False


def feature_vector(text: str, products: tuple[str, ...] = ()) -> dict[str, float]:
    """The audience-facing features of any text, each scaled to [0, 1]."""
    found = extract_claims(text)  # the product's one reading of claims, so the trap is what the guard sees
    discount = max((c.value for c in percent_discounts(found)), default=0.0)
    claims = {c.kind for c in found}
    return {
        "discount": min(discount, 60.0) / 60.0,
        "urgency": float(bool(claims & {"urgency", "deadline"})),  # "hurry", "ends tonight", "today only"
        "question": float("?" in text),
        "emoji": float(any(_is_emoji(ch) for ch in text)),
        "short": float(len(text.split()) <= 7),
        "product_named": float(product_named(text, products)),
        "opener": float(bool(OPENER.match(text))),
        "cta": float(bool(CTA.search(text))),
        # The trap: readers click claims whether or not the offer stands behind them.
        "free_shipping": float("shipping" in claims),
        "superlative": float("superlative" in claims),
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
    products: tuple[str, ...] = ()  # what the brand sells: naming one is a feature the readers react to

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
        x = feature_vector(text, self.products)
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
    northpeak_products = ("running shoes", "trail sneakers", "rain jackets", "backpacks")
    brewhaus_products = ("cold brew", "espresso beans", "scented candles", "throw pillows")
    northpeak = SimBrand(
        name="Northpeak",
        voice="direct, no hype",
        audience=Audience("northpeak-readers", base_ctr=0.02, seed=seed, products=northpeak_products, weights={
            "discount": 0.7, "short": 0.5, "urgency": 0.25, "question": -0.35, "emoji": -0.2,
            "product_named": 0.3, "opener": -0.1, "cta": 0.1, "free_shipping": 0.35, "superlative": 0.3,
        }),
        rules={"max_discount_pct": 30, "banned_phrases": ["hurry"]},
        products=northpeak_products,
    )
    brewhaus = SimBrand(
        name="Brewhaus",
        voice="playful and warm",
        audience=Audience("brewhaus-readers", base_ctr=0.03, seed=seed, products=brewhaus_products, weights={
            "question": 0.7, "urgency": -0.6, "emoji": 0.35, "discount": 0.1, "short": -0.1,
            "product_named": 0.25, "opener": 0.2, "cta": -0.15, "free_shipping": 0.3, "superlative": 0.25,
        }),
        rules={"banned_phrases": ["last chance"]},
        products=brewhaus_products,
    )
    return [northpeak, brewhaus]
