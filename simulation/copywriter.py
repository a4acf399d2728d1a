"""Human-written copy for the simulation: the brands' past tests and the search for the best allowed text.

A stand-in for a team of copywriters, not a grammar anything is checked against: free phrasing
that mixes hooks, discounts written several ways ("Save 20%", "up to 30 percent off", "half
price"), urgency, questions, benefits, emoji and calls to action in varied order, so the
audience's features (simulation.audience, read off any text) vary the way real copy does.
"""
from __future__ import annotations

import random

HOOKS = ("New:", "Just in:", "Good news!", "Heads up:", "Psst!", "Finally:", "Big news:", "Weekend plans?")
DISCOUNTS = ("Save {pct}% on {product}.", "{pct}% off {product}!", "Get {pct}% off your {product}.",
             "Up to {pct} percent off {product}.", "Take {pct}% off everything.", "{product} at {pct}% off.",
             "Half price on {product}.", "Extra {pct}% off {product} this week.")
URGENCY = ("Today only!", "Ends tonight.", "Last chance!", "Only {hours} hours left.", "While supplies last.",
           "Hurry, it ends {day}.", "Limited time only.", "Don't miss out.", "Final hours!")
QUESTIONS = ("Ready for {benefit}?", "Need new {product}?", "Why wait?", "Looking for {adj} {product}?",
             "Who says {product} can't be {adj}?", "What's your next adventure?")
BENEFITS = ("Meet the {adj} {product}.", "{adj} {product}, made for {audience}.", "Built to last.",
            "Free shipping on every order.", "The {product} {audience} swear by.", "Feel the difference.",
            "Our {adj} {product} are here.", "{product} that keep up with you.", "Designed for {benefit}.",
            "The best {product} for {audience}.", "Our top-rated {product}.")
CTAS = ("Shop now.", "Tap to shop.", "See the collection.", "Order yours today.", "Find your pair.",
        "Grab yours.", "Discover more.", "Try them today.")
EMOJI = ("🔥", "✨", "🎉", "☕", "🏃", "⏰", "💥", "🛍️", "🌧️", "🙌")
SLOTS = {
    "adj": ("lightweight", "cozy", "bold", "fresh", "premium", "everyday", "limited edition", "new", "waterproof"),
    "benefit": ("better mornings", "the weekend", "summer", "your next adventure", "rainy days", "comfort"),
    "audience": ("runners", "busy parents", "coffee lovers", "travelers", "hikers", "everyone"),
    "hours": ("12", "24", "48", "72"),
    "day": ("Sunday", "Friday", "at midnight"),
    "pct": tuple(str(p) for p in range(10, 75, 5)),
}
PARTS = {"discount": DISCOUNTS, "urgency": URGENCY, "question": QUESTIONS, "benefit": BENEFITS, "cta": CTAS}
TONE_PART = {"value": "discount", "urgent": "urgency", "curious": "question", "playful": "benefit",
             "premium": "benefit"}


def _fill(rng: random.Random, template: str, product: str) -> str:
    text = template.replace("{product}", product)
    for slot, values in SLOTS.items():
        while "{" + slot + "}" in text:
            text = text.replace("{" + slot + "}", rng.choice(values), 1)
    return text[0].upper() + text[1:]


def write_copy(rng: random.Random, *, product: str, max_chars: int, tone: str = "") -> str:
    """One line of copy for `product`, leaning to `tone`'s kind of sentence; at most `max_chars` characters."""
    while True:
        kinds = [TONE_PART[tone]] if tone in TONE_PART and rng.random() < 0.7 else []
        for _ in range(rng.choice((1, 1, 2, 2, 3)) - len(kinds)):
            kind = rng.choice(list(PARTS))
            if kind not in kinds:
                kinds.append(kind)
        rng.shuffle(kinds)
        if "cta" in kinds:  # a call to action comes last
            kinds.remove("cta")
            kinds.append("cta")
        sentences = [_fill(rng, rng.choice(PARTS[kind]), product) for kind in kinds or ["benefit"]]
        if rng.random() < 0.15:
            sentences.insert(0, rng.choice(HOOKS))
        text = " ".join(sentences)
        if rng.random() < 0.25:
            text += " " + rng.choice(EMOJI)
        if len(text) <= max_chars:
            return text
