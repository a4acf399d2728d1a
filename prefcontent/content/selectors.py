"""Reads of the content app, always through the acting principal."""
from __future__ import annotations

from django.db.models import QuerySet

from prefcontent.content.models import Brief, Campaign, Variant
from prefcontent.core.errors import NotFound
from prefcontent.tenancy.principal import Principal, scope_to_principal


def _get(qs: QuerySet, pk, label: str):
    try:
        obj = qs.filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        obj = None
    if obj is None:
        raise NotFound(f"{label} not found.")
    return obj


def campaign_list(*, principal: Principal) -> QuerySet[Campaign]:
    return scope_to_principal(Campaign.objects.all(), principal)


def brief_list(*, principal: Principal) -> QuerySet[Brief]:
    return scope_to_principal(Brief.objects.all(), principal)


def variant_list(*, principal: Principal) -> QuerySet[Variant]:
    return scope_to_principal(Variant.objects.all(), principal)


def campaign_get(*, principal: Principal, campaign_id) -> Campaign:
    return _get(campaign_list(principal=principal), campaign_id, "Campaign")


def brief_get(*, principal: Principal, brief_id) -> Brief:
    return _get(brief_list(principal=principal), brief_id, "Brief")


def variant_get(*, principal: Principal, variant_id) -> Variant:
    return _get(variant_list(principal=principal), variant_id, "Variant")
