"""A brief's facts: the offer, its validity, the product claims the brand may make, and what is never allowed.

Stored as JSON on the brief (`Brief.facts`); `facts_clean` validates what a client sends and returns
what to store, `facts_parse` reads a stored object into `BriefFacts`. An empty object means "no
facts": copy for that brief is judged by the brand's compliance rules only.

    {"offer": {"discount_percent": 20, "price": 49.0, "free_shipping": false, "free_shipping_over": 50,
               "bundle": "buy 2 get 1 free"},
     "validity": {"starts": "2026-12-01", "ends": "2026-12-06", "while_stocks_last": false},
     "allowed_claims": ["waterproof", "rated 4.8 by 2,000 customers"],
     "never_allowed": ["superlative", "guarantee"]}
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date

from prefcontent.content.claims.extract import KINDS

OFFER_AMOUNTS = ("discount_amount", "price", "regular_price", "free_shipping_over", "min_spend")
OFFER_FLAGS = ("free_shipping", "free_returns")
OFFER_KEYS = ("discount_percent", *OFFER_AMOUNTS, *OFFER_FLAGS, "currency", "bundle")
VALIDITY_KEYS = ("starts", "ends", "while_stocks_last")
TOP_KEYS = ("offer", "validity", "allowed_claims", "never_allowed")
MAX_ALLOWED_CLAIMS = 50
MAX_CLAIM_CHARS = 200


class FactsError(ValueError):
    """Facts that cannot be stored; `errors` maps each bad field ("offer.discount_percent") to its reasons."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in sorted(errors.items())))


@dataclass(frozen=True)
class Offer:
    discount_percent: float | None = None  # "20% off"
    discount_amount: float | None = None  # "$10 off", in the offer's currency
    price: float | None = None  # what the product costs during the offer
    regular_price: float | None = None  # the price it is compared with ("was $80")
    currency: str = ""  # ISO code, informative
    free_shipping: bool = False  # on every order
    free_shipping_over: float | None = None  # free shipping on orders over this amount
    free_returns: bool = False
    min_spend: float | None = None  # the offer needs an order of at least this much
    bundle: str = ""  # a multi-buy in words: "buy 2 get 1 free", "3 for $20"


@dataclass(frozen=True)
class Validity:
    starts: date | None = None
    ends: date | None = None  # last day of the offer; None: no end date
    while_stocks_last: bool = False  # the offer is limited to stock


@dataclass(frozen=True)
class BriefFacts:
    offer: Offer = field(default_factory=Offer)
    validity: Validity = field(default_factory=Validity)
    allowed_claims: tuple[str, ...] = ()  # product claims the brand may make, each a source for copy
    never_allowed: tuple[str, ...] = ()  # claim kinds never allowed without an allowed claim behind them


def _number(value, errors: dict, key: str, *, high: float | None = 1e9) -> float | None:
    if value is None:
        return None
    try:
        number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan
    except OverflowError:  # an integer too large for a float
        number = math.nan
    if not math.isfinite(number) or number <= 0 or number > high:
        errors[key] = [f"must be a number above 0 and at most {high:g}, or null."]
        return None
    return number


def _text(value) -> bool:
    """Text that every database stores: no NUL, no lone surrogate."""
    return isinstance(value, str) and "\x00" not in value and not any("\ud800" <= ch <= "\udfff" for ch in value)


def _date(value, errors: dict, key: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        errors[key] = ["must be a date written YYYY-MM-DD, or null."]
        return None


def _unknown(raw: dict, allowed: tuple[str, ...], prefix: str, errors: dict) -> None:
    for key in raw:
        if key not in allowed:
            errors[f"{prefix}{key}"] = ["is not a known field."]


def _section(raw, key: str, errors: dict) -> dict:
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors[key] = ["must be an object."]
        return {}
    return value


def _parse(raw) -> BriefFacts | None:
    if raw is None or raw == {}:
        return None
    errors: dict[str, list[str]] = {}
    if not isinstance(raw, dict):
        raise FactsError({"facts": ["must be an object."]})
    _unknown(raw, TOP_KEYS, "", errors)
    offer_raw, validity_raw = _section(raw, "offer", errors), _section(raw, "validity", errors)
    _unknown(offer_raw, OFFER_KEYS, "offer.", errors)
    _unknown(validity_raw, VALIDITY_KEYS, "validity.", errors)
    offer = {"discount_percent": _number(offer_raw.get("discount_percent"), errors, "offer.discount_percent",
                                         high=100)}
    for key in OFFER_AMOUNTS:
        offer[key] = _number(offer_raw.get(key), errors, f"offer.{key}")
    for key in (*OFFER_FLAGS, "while_stocks_last"):
        source = validity_raw if key == "while_stocks_last" else offer_raw
        if not isinstance(source.get(key, False), bool):
            errors[f"{'validity' if source is validity_raw else 'offer'}.{key}"] = ["must be true or false."]
    for key, limit in (("currency", 3), ("bundle", MAX_CLAIM_CHARS)):
        value = offer_raw.get(key, "")
        if not _text(value) or len(value) > limit:
            errors[f"offer.{key}"] = [f"must be text of at most {limit} characters."]
    starts = _date(validity_raw.get("starts"), errors, "validity.starts")
    ends = _date(validity_raw.get("ends"), errors, "validity.ends")
    if starts and ends and ends < starts:
        errors["validity.ends"] = ["must not be before validity.starts."]
    allowed = raw.get("allowed_claims", [])
    if not isinstance(allowed, list) or len(allowed) > MAX_ALLOWED_CLAIMS or not all(
            _text(c) and c.strip() and len(c) <= MAX_CLAIM_CHARS for c in allowed):
        errors["allowed_claims"] = [(f"must be a list of at most {MAX_ALLOWED_CLAIMS} non-empty texts of at most "
                                    f"{MAX_CLAIM_CHARS} characters.")]
    never = raw.get("never_allowed", [])
    if not isinstance(never, list) or not all(isinstance(k, str) and k in KINDS for k in never):
        errors["never_allowed"] = [f"must be a list of claim kinds: {', '.join(KINDS)}."]
    if errors:
        raise FactsError(errors)
    return BriefFacts(
        offer=Offer(**offer, free_shipping=offer_raw.get("free_shipping", False),
                    free_returns=offer_raw.get("free_returns", False), currency=offer_raw.get("currency", ""),
                    bundle=offer_raw.get("bundle", "")),
        validity=Validity(starts=starts, ends=ends, while_stocks_last=validity_raw.get("while_stocks_last", False)),
        allowed_claims=tuple(c.strip() for c in allowed), never_allowed=tuple(dict.fromkeys(never)),
    )


def facts_clean(raw) -> dict:
    """What to store for `raw` ({} for no facts); FactsError naming every bad field otherwise."""
    _parse(raw)
    return dict(raw or {})


def facts_parse(raw) -> BriefFacts | None:
    """The stored facts (None for none). Stored facts were cleaned on write; a bad object raises FactsError."""
    return _parse(raw)


def facts_read(raw, *, also_allowed: tuple[str, ...] = ()) -> BriefFacts | None:
    """Like facts_parse, for readers that must not fail (generation, the gate): bad facts read as none.
    `also_allowed`: the brand's own allowed claims, a source for copy beside the brief's (briefs without
    facts stay unjudged)."""
    try:
        facts = _parse(raw)
    except FactsError:
        return None
    if facts is None or not also_allowed:
        return facts
    return replace(facts, allowed_claims=tuple(dict.fromkeys((*facts.allowed_claims, *also_allowed))))
