from tests.prefcontent.content.factories import (
    BriefFactory,
    CampaignFactory,
    VariantFactory,
)
from tests.tenancy import RouteCase, ServiceCase


def _campaign(w):
    return w.extra.setdefault("campaign", CampaignFactory(brand=w.brand_a))


def _brief(w):
    return w.extra.setdefault("brief", BriefFactory(brand=w.brand_a))


def _variant(w):
    return w.extra.setdefault("variant", VariantFactory(brand=w.brand_a))


ROUTES = {
    "campaign-list": RouteCase(
        hidden_ids=lambda w: {_campaign(w).pk},
        body=lambda w: {"brand": w.brand_a.pk, "name": "Spring", "channel": "headline"},
    ),
    "campaign-detail": RouteCase(kwargs=lambda w: {"pk": _campaign(w).pk}, body=lambda w: {"name": "Renamed"}),
    "brief-list": RouteCase(
        hidden_ids=lambda w: {_brief(w).pk},
        body=lambda w: {"brand": w.brand_a.pk, "title": "Spring shoes", "campaign": _campaign(w).pk},
    ),
    "brief-detail": RouteCase(kwargs=lambda w: {"pk": _brief(w).pk}, body=lambda w: {"tone": "calm"}),
    "variant-list": RouteCase(
        hidden_ids=lambda w: {_variant(w).pk},
        body=lambda w: {"brand": w.brand_a.pk, "text": "Run further", "brief": _brief(w).pk},
    ),
    "variant-detail": RouteCase(kwargs=lambda w: {"pk": _variant(w).pk}),
}


_SERVICES = "prefcontent.content.services."
SERVICES = {
    _SERVICES + "campaign_create": ServiceCase("content.write", lambda w: {
        "brand": w.brand_a, "name": "Spring", "channel": "headline"}),
    _SERVICES + "campaign_update": ServiceCase("content.write", lambda w: {"campaign": _campaign(w), "name": "New"}),
    _SERVICES + "brief_create": ServiceCase("content.write", lambda w: {"brand": w.brand_a, "title": "Spring shoes"}),
    _SERVICES + "brief_update": ServiceCase("content.write", lambda w: {"brief": _brief(w), "tone": "calm"}),
    _SERVICES + "variant_create": ServiceCase("content.write", lambda w: {"brand": w.brand_a, "text": "Run further"}),
}
UNCHECKED = {
    _SERVICES + "brief_facts_clean": "pure: validates a facts object, writes nothing",
}
