"""A small grammar of marketing copy: generate it, parse it, and read features off any text.

A text is `[opener ' '] clause (' ' clause)* [' ' emoji]`, where every clause comes from a
fixed set of templates (intro, discount, urgency, question, benefit, call to action) whose
slots are filled from closed lists (products, adjectives, percentages, ...). `parse` accepts
exactly the language `generate_text` produces, so a model trained on the corpus can be
checked for grammaticality, and `features` reads the simulation-relevant properties of
any text, grammatical or not.

Channels shape the copy: headlines are short, email subjects often open with a hook, push
notifications like emoji, ads and SMS carry a call to action (SMS starts with the brand).
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass

from ml.prompts import Brief, render_plain

PRODUCTS = (
    "running shoes", "trail sneakers", "yoga mats", "cold brew", "espresso beans", "scented candles",
    "wireless headphones", "smart watches", "backpacks", "summer dresses", "rain jackets", "face serum",
    "sunscreen", "protein bars", "water bottles", "desk lamps", "throw pillows", "phone cases", "sunglasses",
    "denim jackets",
)
BRANDS = ("Northpeak", "Brewhaus", "Lumen", "Stride", "Velvet Fern", "Kettle & Co", "Orbit", "Tidewell")
VOICES = ("friendly and concise", "bold and energetic", "calm and premium", "playful and warm", "direct, no hype")
AUDIENCES = ("runners", "busy parents", "students", "coffee lovers", "travelers", "creators", "new customers")
TONES = ("urgent", "playful", "curious", "value", "premium")
CHANNELS = ("headline", "email_subject", "push", "ad", "sms")
ADJECTIVES = ("lightweight", "cozy", "bold", "fresh", "premium", "everyday", "limited edition")
BENEFITS = ("comfort", "better mornings", "the weekend", "summer", "your next adventure")
HOURS = ("24", "48", "72")
DAYS = ("Sunday", "Friday", "midnight")
PERCENTS = tuple(str(p) for p in range(10, 75, 5))
OPENERS = ("New:", "Just in:", "Good news:", "Heads up:", "Psst!", "Hey there!", "Big news:")
EMOJI = ("🔥", "✨", "🎉", "☕", "🏃", "⏰", "💥", "🛍️")

TEMPLATES: dict[str, tuple[str, ...]] = {
    "intro": ("Meet the new {product}.", "Introducing our {adj} {product}.", "Discover {adj} {product}.",
              "The {adj} {product} you have been waiting for."),
    "discount": ("Save {pct}% on {product}.", "Get {pct}% off {product}!", "{pct}% off all {product}.",
                 "Take {pct}% off your order."),
    "urgency": ("Today only!", "Ends tonight.", "Last chance!", "Only {hours} hours left!", "While supplies last.",
                "Hurry, ends {day}!"),
    "question": ("Ready for {benefit}?", "Need new {product}?", "Why wait?", "Looking for {adj} {product}?"),
    "benefit": ("Feel the {benefit}.", "Made for {audience}.", "Free shipping on every order.", "Built to last."),
    "cta": ("Shop now.", "Tap to shop.", "See the collection.", "Order yours today."),
}
SLOTS = {"product": PRODUCTS, "adj": ADJECTIVES, "pct": PERCENTS, "hours": HOURS, "day": DAYS,
         "benefit": BENEFITS, "audience": AUDIENCES}
URGENCY_WORDS = ("today only", "ends tonight", "last chance", "hours left", "while supplies last", "hurry", "ends ")


def _alternation(values: tuple[str, ...]) -> str:
    return "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))


def _compile(template: str) -> re.Pattern:
    parts = re.split(r"(\{\w+\})", template)
    rx = "".join(f"(?P<{p[1:-1]}>{_alternation(SLOTS[p[1:-1]])})" if p.startswith("{") else re.escape(p)
                 for p in parts)
    return re.compile(rx)


_CLAUSES = [(kind, _compile(t)) for kind, ts in TEMPLATES.items() for t in ts]
_OPENER_RX = re.compile(rf"^(?P<opener>{_alternation(OPENERS)}|(?:{_alternation(BRANDS)}):) ")
_EMOJI_RX = re.compile(rf"(?: (?:{_alternation(EMOJI)}))+$")
_CLAUSE_SPLIT = re.compile(r"(?<=[.!?]) ")


@dataclass(frozen=True)
class Clause:
    """One parsed clause: its kind and the slot values it used."""

    kind: str  # key of TEMPLATES
    slots: dict  # slot name -> value, e.g. {"pct": "20", "product": "yoga mats"}


@dataclass(frozen=True)
class ParseResult:
    """A text that belongs to the grammar, taken apart."""

    opener: str | None  # hook or "Brand:" prefix
    clauses: tuple[Clause, ...]  # in order
    emoji: tuple[str, ...]  # trailing emoji

    def kinds(self) -> list[str]:
        return [c.kind for c in self.clauses]


def parse(text: str) -> ParseResult | None:
    """The parse of `text`, or None when it is not in the grammar (a text is valid iff it parses)."""
    rest = text
    emoji: tuple[str, ...] = ()
    m = _EMOJI_RX.search(rest)
    if m:
        emoji = tuple(m.group(0).split())
        rest = rest[: m.start()]
    opener = None
    m = _OPENER_RX.match(rest)
    if m:
        opener = m.group("opener")
        rest = rest[m.end():]
    pieces = _CLAUSE_SPLIT.split(rest)
    if not 1 <= len(pieces) <= 3:
        return None
    clauses = []
    for piece in pieces:
        for kind, rx in _CLAUSES:
            hit = rx.fullmatch(piece)
            if hit:
                clauses.append(Clause(kind=kind, slots=hit.groupdict()))
                break
        else:
            return None
    return ParseResult(opener=opener, clauses=tuple(clauses), emoji=emoji)


def _fill(rng: random.Random, template: str, fixed: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: fixed.get(m.group(1)) or rng.choice(SLOTS[m.group(1)]), template)


# Clause kinds each channel and tone favour: (kind, weight) lists sampled without replacement.
_CHANNEL_SHAPE = {
    "headline": {"clauses": (1, 2), "opener": 0.15, "emoji": 0.1, "cta": 0.0},
    "email_subject": {"clauses": (1, 2), "opener": 0.45, "emoji": 0.3, "cta": 0.0},
    "push": {"clauses": (1, 2), "opener": 0.2, "emoji": 0.6, "cta": 0.2},
    "ad": {"clauses": (2, 3), "opener": 0.1, "emoji": 0.15, "cta": 0.7},
    "sms": {"clauses": (2, 3), "opener": 1.0, "emoji": 0.1, "cta": 0.8},
}
_TONE_KIND = {"urgent": "urgency", "playful": "benefit", "curious": "question", "value": "discount",
              "premium": "intro"}


_PRODUCT_KINDS = {"intro", "discount", "question"}


def _pick_template(rng: random.Random, kind: str) -> str:
    with_product = [t for t in TEMPLATES[kind] if "{product}" in t]
    if with_product and rng.random() < 0.85:
        return rng.choice(with_product)
    return rng.choice(TEMPLATES[kind])


def generate_text(rng: random.Random, channel: str = "headline", *, product: str | None = None,
                  tone: str | None = None, audience: str | None = None, brand: str | None = None) -> str:
    """One grammatical text for `channel`; given brief fields steer it (product named, tone's clause kind)."""
    shape = _CHANNEL_SHAPE[channel]
    fixed = {k: v for k, v in (("product", product), ("audience", audience)) if v}
    n = rng.randint(*shape["clauses"])
    has_cta = rng.random() < shape["cta"]
    body_kinds = ["intro", "discount", "urgency", "question", "benefit"]
    first = _TONE_KIND.get(tone) if tone and rng.random() < 0.8 else None
    kinds = [first] if first else []
    while len(kinds) < n - int(has_cta):
        kind = rng.choice(body_kinds)
        if kind not in kinds:
            kinds.append(kind)
    # Most copy names the product: make sure some clause can carry it.
    if not set(kinds) & _PRODUCT_KINDS and rng.random() < 0.8:
        kinds = ["intro"] + kinds[: max(0, n - int(has_cta) - 1)] if kinds else ["intro"]
    if has_cta or not kinds:
        kinds.append("cta")
    clauses = [_fill(rng, _pick_template(rng, k), fixed) for k in kinds]
    text = " ".join(clauses)
    if channel == "sms":
        text = f"{brand or rng.choice(BRANDS)}: {text}"
    elif rng.random() < shape["opener"]:
        text = f"{rng.choice(OPENERS)} {text}"
    emoji_rate = shape["emoji"] + (0.3 if tone == "playful" else 0.0)
    if rng.random() < emoji_rate:
        text += " " + rng.choice(EMOJI)
    return text


def render_brief(*, brand: str, voice: str, channel: str, product: str, audience: str, tone: str) -> str:
    """The product's plain prompt format (ml.prompts), which the dev model is trained on."""
    return render_plain(Brief(brand=brand, voice=voice, channel=channel, product=product, audience=audience, tone=tone))


def random_brief(rng: random.Random) -> dict[str, str]:
    """Random brief fields, as accepted by `render_brief`."""
    return {"brand": rng.choice(BRANDS), "voice": rng.choice(VOICES), "channel": rng.choice(CHANNELS),
            "product": rng.choice(PRODUCTS), "audience": rng.choice(AUDIENCES), "tone": rng.choice(TONES)}


def features(text: str) -> dict:
    """Simulation features of any text (parsed or not).

    discount_pct (int | None), urgency (bool), question (bool), emoji (count), length_chars,
    length_words, product_named (str | None), opener (bool), cta (bool), grammatical (bool).
    """
    lower = text.lower()
    pct = re.search(r"(\d{1,3})\s?%", text)
    product = next((p for p in sorted(PRODUCTS, key=len, reverse=True) if p in lower), None)
    parsed = parse(text)
    return {
        "discount_pct": int(pct.group(1)) if pct else None,
        "urgency": any(w in lower for w in URGENCY_WORDS),
        "question": "?" in text,
        "emoji": sum(text.count(e) for e in EMOJI),
        "length_chars": len(text),
        "length_words": len(text.split()),
        "product_named": product,
        "opener": bool(parsed and parsed.opener) if parsed else bool(_OPENER_RX.match(text)),
        "cta": any(c.lower().rstrip(".") in lower for c in TEMPLATES["cta"]),
        "grammatical": parsed is not None,
    }
