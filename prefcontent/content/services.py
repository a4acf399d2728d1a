"""Writes of the content app: campaigns, briefs and variants."""
from __future__ import annotations

from django.db import transaction

from prefcontent.accounts.services import audit_record
from prefcontent.brands.models import Brand
from prefcontent.content.claims.facts import FactsError, facts_clean
from prefcontent.content.hashing import content_hash
from prefcontent.content.models import (
    CHANNELS,
    GOAL_METRICS,
    SOURCES,
    Brief,
    Campaign,
    Variant,
)
from prefcontent.core.errors import InvalidInput, NotFound
from prefcontent.tenancy import access
from prefcontent.tenancy.principal import Principal

CAMPAIGN_FIELDS = ("name", "channel", "goal_metric")
BRIEF_FIELDS = ("campaign", "title", "product", "audience", "tone", "locale", "constraints", "facts")
MAX_VARIANT_CHARS = 10_000


def _check_same_brand(brand: Brand, **related) -> None:
    for name, obj in related.items():
        if obj is not None and obj.brand_id != brand.pk:
            raise NotFound(f"{name.capitalize()} not found.")


def brief_facts_clean(raw) -> dict:
    """Facts a client sent, as they are stored; a 400 `invalid_facts` names each bad field."""
    try:
        return facts_clean(raw)
    except FactsError as exc:
        raise InvalidInput(f"Invalid facts: {exc}", code="invalid_facts",
                           details={"fields": {f"facts.{k}": v for k, v in exc.errors.items()}}) from None


def _check_choice(name: str, value: str | None, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        raise InvalidInput(f"{name} must be one of {', '.join(allowed)}.", code=f"invalid_{name}")


@transaction.atomic
def campaign_create(*, principal: Principal, brand: Brand, name: str, channel: str,
                    goal_metric: str = "click") -> Campaign:
    access.brand_require(principal, brand, "content.write")
    _check_choice("channel", channel, CHANNELS)
    _check_choice("goal_metric", goal_metric, GOAL_METRICS)
    campaign = Campaign.objects.create(brand=brand, name=name, channel=channel, goal_metric=goal_metric)
    audit_record(principal=principal, organization_id=brand.organization_id, brand_id=brand.pk,
                 action="campaign.create", target=campaign)
    return campaign


@transaction.atomic
def campaign_update(*, principal: Principal, campaign: Campaign, **changes) -> Campaign:
    access.brand_require(principal, campaign.brand, "content.write")
    changed = {k: v for k, v in changes.items() if k in CAMPAIGN_FIELDS}
    _check_choice("channel", changed.get("channel"), CHANNELS)
    _check_choice("goal_metric", changed.get("goal_metric"), GOAL_METRICS)
    for key, value in changed.items():
        setattr(campaign, key, value)
    campaign.save(update_fields=list(changed) or None)
    return campaign


@transaction.atomic
def brief_create(*, principal: Principal, brand: Brand, title: str, campaign: Campaign | None = None,
                 product: str = "", audience: str = "", tone: str = "", locale: str = "",
                 constraints: str = "", facts: dict | None = None) -> Brief:
    access.brand_require(principal, brand, "content.write")
    _check_same_brand(brand, campaign=campaign)
    return Brief.objects.create(brand=brand, campaign=campaign, title=title, product=product, audience=audience,
                                tone=tone, locale=locale or brand.locale, constraints=constraints,
                                facts=brief_facts_clean(facts))


@transaction.atomic
def brief_update(*, principal: Principal, brief: Brief, **changes) -> Brief:
    access.brand_require(principal, brief.brand, "content.write")
    changed = {k: v for k, v in changes.items() if k in BRIEF_FIELDS}
    _check_same_brand(brief.brand, campaign=changed.get("campaign"))
    if "facts" in changed:
        changed["facts"] = brief_facts_clean(changed["facts"])
    for key, value in changed.items():
        setattr(brief, key, value)
    brief.save(update_fields=list(changed) or None)
    return brief


def variant_create(*, principal: Principal, brand: Brand, text: str, source: str = "human",
                   brief: Brief | None = None, campaign: Campaign | None = None,
                   provenance: dict | None = None, adapter_version_id: int | None = None) -> Variant:
    """A variant's text is immutable once created: experiments and preference pairs point at it."""
    access.brand_require(principal, brand, "content.write")
    _check_same_brand(brand, brief=brief, campaign=campaign)
    _check_choice("source", source, SOURCES)
    if not text.strip():
        raise InvalidInput("A variant needs some text.", code="empty_text")
    if len(text) > MAX_VARIANT_CHARS:
        raise InvalidInput(f"A variant is at most {MAX_VARIANT_CHARS} characters.", code="text_too_long")
    if campaign is None and brief is not None:
        campaign = brief.campaign
    return Variant.objects.create(
        brand=brand, brief=brief, campaign=campaign, text=text, source=source, content_hash=content_hash(text),
        provenance=provenance or {}, adapter_version_id=adapter_version_id,
    )
