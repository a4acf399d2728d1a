"""Is each claim of a text backed by the brief's facts? supported, contradicted or unsupported.

Contradicted: the facts say otherwise ("20% off" when the offer is 10%, "ends tonight" when it runs
to Sunday, "free shipping" when there is none) or the brief never allows the kind. Unsupported:
nothing in the facts or the allowed claims stands behind it ("best-rated" with no source). The
allowed claims (and the brief's product line) are read with the same extractor, so "rated 4.8 by
2,000 customers" supports "4.8 stars" and "2,000 customers" but not "4.9 stars".

Relative deadlines ("ends tonight", "48 hours only") are read from `today`, the day the copy is
judged for; without it they cannot be checked and are unsupported.
"""
from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass
from datetime import date, timedelta

from prefcontent.content.claims.extract import (
    DEADLINE,
    DISCOUNT,
    GUARANTEE,
    PRICE,
    QUANTITY,
    RATING,
    SHIPPING,
    SUPERLATIVE,
    URGENCY,
    WEEKDAYS,
    Claim,
    extract_claims,
)
from prefcontent.content.claims.facts import BriefFacts

SUPPORTED, CONTRADICTED, UNSUPPORTED = "supported", "contradicted", "unsupported"
VERDICTS = (SUPPORTED, CONTRADICTED, UNSUPPORTED)
URGENT_DAYS = 3  # "last chance", "final hours": true only when the offer ends within this many days
_UNIT_SYNONYMS = {"percent": "%", "per cent": "%", "millilitre": "ml", "milliliter": "ml", "hour": "h", "hr": "h",
                  "gram": "g", "kilogram": "kg", "kilo": "kg", "lb": "lb", "pound": "lb", "litre": "l", "liter": "l",
                  "year": "yr", "day": "d"}


@dataclass(frozen=True)
class ClaimVerdict:
    claim: Claim
    verdict: str  # one of VERDICTS
    reason: str  # why, for people

    def to_dict(self) -> dict:
        return {**self.claim.to_dict(), "verdict": self.verdict, "reason": self.reason}


def _fold(text: str) -> str:
    return " ".join(re.sub(r"[^\w%$€£#.]+", " ", text.lower()).split())


def _same(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and math.isclose(a, b, abs_tol=0.005)


def _unit(unit: str) -> str:
    u = unit.lower().rstrip("s") if len(unit) > 2 else unit.lower()
    return _UNIT_SYNONYMS.get(u, u)


def _money(value: float | None) -> str:
    return "an unknown amount" if value is None else f"{value:,.2f}".rstrip("0").rstrip(".")


def _sourced(claim: Claim, sources: list[tuple[str, list[Claim]]]) -> tuple[bool | None, str]:
    """(True, source) when an allowed claim backs `claim`; (False, source) when one states another value."""
    folded = _fold(claim.text)
    other = None
    for text, claims in sources:
        for c in claims:
            if c.kind != claim.kind:
                continue
            if claim.kind in (RATING, QUANTITY) and claim.value is not None and c.value is not None:
                if _same(c.value, claim.value) and (claim.kind == RATING or _unit(c.unit) == _unit(claim.unit)):
                    return True, text
                if claim.kind == RATING or _unit(c.unit) == _unit(claim.unit):
                    other = text
                continue
            if c.detail and c.detail == claim.detail:
                return True, text
        if folded and folded in _fold(text):
            return True, text
    return (False, other) if other else (None, "")


def _claimed_end(detail: str, today: date) -> tuple[date, int] | None:
    """The last day a relative deadline names, and how many days either side still read true."""
    if detail == "today":
        return today, 0
    if detail == "tomorrow":
        return today + timedelta(days=1), 0
    if detail in ("weekend", "week"):
        return today + timedelta(days=(6 - today.weekday()) % 7), 1 if detail == "weekend" else 0
    if detail == "month":
        return today.replace(day=calendar.monthrange(today.year, today.month)[1]), 0
    if detail in WEEKDAYS:
        return today + timedelta(days=(WEEKDAYS.index(detail) - today.weekday()) % 7), 0
    if m := re.fullmatch(r"(\d+)([hd])", detail):
        n = int(m.group(1))
        days = math.ceil(n / 24) if m.group(2) == "h" else n
        return today + timedelta(days=days), 1
    return None


def _deadline(claim: Claim, facts: BriefFacts, today: date | None) -> tuple[str, str]:
    ends = facts.validity.ends
    if ends is None:
        why = "runs while stocks last, with no end date" if facts.validity.while_stocks_last else "has no end date"
        return CONTRADICTED, f"says the offer ends ({claim.text!r}); the offer {why}"
    if m := re.fullmatch(r"(\d\d)-(\d\d)", claim.detail):
        same = (ends.month, ends.day) == (int(m.group(1)), int(m.group(2)))
        return (SUPPORTED, f"the offer ends {ends:%d %B}") if same else \
            (CONTRADICTED, f"names another end date; the offer ends {ends:%A %d %B}")
    if today is None:
        return UNSUPPORTED, "a relative deadline cannot be checked without the day the copy runs"
    if today > ends:
        return CONTRADICTED, f"the offer ended on {ends:%A %d %B}"
    resolved = _claimed_end(claim.detail, today)
    if resolved is None:
        return UNSUPPORTED, "the deadline could not be read"
    claimed, slack = resolved
    if abs((claimed - ends).days) <= slack:
        return SUPPORTED, f"the offer ends {ends:%A %d %B}"
    return CONTRADICTED, f"says the offer ends {claimed:%A %d %B}; it ends {ends:%A %d %B}"


def _urgency(claim: Claim, facts: BriefFacts, today: date | None) -> tuple[str, str]:
    v = facts.validity
    if claim.detail == "stock":
        return (SUPPORTED, "the offer runs while stocks last") if v.while_stocks_last else \
            (CONTRADICTED, "claims limited stock; the offer is not limited to stock")
    if v.ends is None:
        return (SUPPORTED, "the offer runs while stocks last") if v.while_stocks_last else \
            (CONTRADICTED, "urges haste; the offer has no end date and is not limited to stock")
    if "limited" in claim.text.lower() or today is None:
        return SUPPORTED, f"the offer ends {v.ends:%A %d %B}"
    left = (v.ends - today).days
    if 0 <= left <= URGENT_DAYS:
        return SUPPORTED, f"the offer ends {v.ends:%A %d %B}"
    return CONTRADICTED, (f"urges haste; the offer ended on {v.ends:%d %B}" if left < 0 else
                          f"urges haste; the offer runs {left} more days")


def _discount(claim: Claim, facts: BriefFacts) -> tuple[str, str]:
    o = facts.offer
    if claim.unit == "bundle":
        wanted = next((c.detail for c in extract_claims(o.bundle) if c.unit == "bundle"), _fold(o.bundle))
        if not o.bundle:
            return CONTRADICTED, "claims a multi-buy; the offer has none"
        return (SUPPORTED, f"the offer is {o.bundle!r}") if wanted == claim.detail else \
            (CONTRADICTED, f"claims {claim.detail!r}; the offer is {o.bundle!r}")
    if claim.unit == "%":
        if o.discount_percent is None:
            other = f"is {_money(o.discount_amount)} off" if o.discount_amount else "has no percentage discount"
            return CONTRADICTED, f"claims {claim.value:g}% off; the offer {other}"
        if _same(claim.value, o.discount_percent):
            return SUPPORTED, f"the offer is {o.discount_percent:g}% off"
        return CONTRADICTED, f"claims {claim.value:g}% off; the offer is {o.discount_percent:g}%"
    if o.discount_amount is None:
        return CONTRADICTED, f"claims {_money(claim.value)} off; the offer has no amount off"
    if _same(claim.value, o.discount_amount):
        return SUPPORTED, f"the offer is {_money(o.discount_amount)} off"
    return CONTRADICTED, f"claims {_money(claim.value)} off; the offer is {_money(o.discount_amount)} off"


def _price(claim: Claim, facts: BriefFacts) -> tuple[str, str]:
    o = facts.offer
    named = {"price": [o.price], "was": [o.regular_price], "threshold": [o.free_shipping_over, o.min_spend]}
    mine = [a for a in named.get(claim.detail, []) if a is not None]
    known = [a for a in (o.price, o.regular_price, o.free_shipping_over, o.min_spend, o.discount_amount)
             if a is not None]
    if any(_same(claim.value, a) for a in mine or known):
        return SUPPORTED, f"{_money(claim.value)} is in the offer"
    if mine:
        return CONTRADICTED, (f"states {_money(claim.value)}; the offer's {claim.detail} is " \
                             f"{' or '.join(_money(a) for a in mine)}")
    return UNSUPPORTED, f"no amount of the offer is {_money(claim.value)}"


def _shipping(claim: Claim, facts: BriefFacts, claims: list[Claim]) -> tuple[str, str]:
    o = facts.offer
    if claim.detail in ("returns", "shipping+returns") and not o.free_returns:
        return CONTRADICTED, "claims free returns; the offer has none"
    if claim.detail == "returns" or o.free_shipping:
        return SUPPORTED, "the offer includes it"
    if o.free_shipping_over is not None:
        stated = any(c.kind == PRICE and c.detail == "threshold" and _same(c.value, o.free_shipping_over)
                     for c in claims)
        return (SUPPORTED, f"free shipping over {_money(o.free_shipping_over)}, as stated") if stated else \
            (UNSUPPORTED, f"shipping is free only over {_money(o.free_shipping_over)}, which the copy does not say")
    return CONTRADICTED, "claims free shipping; the offer has none"


def check_claims(text: str, facts: BriefFacts | None, *, today: date | None = None, locale: str = "en",
                 product: str = "") -> list[ClaimVerdict]:
    """A verdict for every claim of `text` against `facts` ([] when the brief has no facts: then only the
    brand's compliance rules judge the copy). `product` (the brief's product line) counts as an allowed claim."""
    if facts is None:
        return []
    claims = extract_claims(text, locale)
    sources = [(s, extract_claims(s, locale)) for s in (*facts.allowed_claims, product) if s]
    out = []
    for claim in claims:
        backed, source = _sourced(claim, sources)
        if backed and claim.kind not in (DISCOUNT, DEADLINE, PRICE):  # an offer term is checked on the offer
            verdict, reason = SUPPORTED, f"allowed claim {source!r}"
        elif claim.kind in facts.never_allowed and claim.kind not in (DISCOUNT, DEADLINE, PRICE, SHIPPING, URGENCY):
            verdict, reason = CONTRADICTED, f"the brief never allows a {claim.kind} without a source"
        elif claim.kind == DISCOUNT:
            verdict, reason = _discount(claim, facts)
        elif claim.kind == PRICE:
            verdict, reason = _price(claim, facts)
        elif claim.kind == DEADLINE:
            verdict, reason = _deadline(claim, facts, today)
        elif claim.kind == URGENCY:
            verdict, reason = _urgency(claim, facts, today)
        elif claim.kind == SHIPPING:
            verdict, reason = _shipping(claim, facts, claims)
        elif backed is False:
            verdict, reason = CONTRADICTED, f"the allowed claim {source!r} states another value"
        else:
            what = {GUARANTEE: "no guarantee", SUPERLATIVE: "no source for the superlative", RATING: "no rating",
                    QUANTITY: "no such figure"}[claim.kind]
            verdict, reason = UNSUPPORTED, f"{what} among the brief's allowed claims"
        out.append(ClaimVerdict(claim, verdict, reason))
    return out


def claim_problems(verdicts: list[ClaimVerdict]) -> list[dict]:
    """The contradicted and unsupported claims, as stored beside a candidate or a pair."""
    return [v.to_dict() for v in verdicts if v.verdict != SUPPORTED]
