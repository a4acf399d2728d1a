"""What each simulated brief offers: the facts its copy may claim (prefcontent.content.claims.facts).

The audiences reward the trap (simulation.audience: bigger discounts, urgency, free shipping and
superlatives click more), so copy that claims more than its brief offers wins tests unless the
claim guard keeps it out. Offers differ by brief: a discount or none, an end date a few days out or
while stocks last, free shipping on some, a couple of product claims the brand may make.
"""
from __future__ import annotations

from datetime import date, timedelta

# (discount %, days until the offer ends or None for "while stocks last", free shipping)
OFFERS = {
    "Northpeak": ((20, 2, False), (10, 5, False), (15, None, False), (25, 9, True), (30, 3, False)),
    "Brewhaus": ((10, 4, True), (None, 6, False), (15, None, True), (20, 2, False), (None, None, False)),
}
ALLOWED = {"Northpeak": ["waterproof", "lightweight", "built for trail running"],
           "Brewhaus": ["small-batch roasted", "hand-poured", "organic"]}


def brief_facts(brand_name: str, index: int, today: date) -> dict:
    """The facts of the brand's `index`-th brief, with dates counted from `today` (the day the loop runs)."""
    offers = OFFERS.get(brand_name)
    if not offers:
        return {}
    discount, days, free_shipping = offers[index % len(offers)]
    offer = {"free_shipping": free_shipping}
    if discount is not None:
        offer["discount_percent"] = discount
    validity = ({"ends": (today + timedelta(days=days)).isoformat()} if days is not None
                else {"while_stocks_last": True})
    return {"offer": offer, "validity": validity, "allowed_claims": ALLOWED.get(brand_name, []),
            "never_allowed": ["guarantee"]}
