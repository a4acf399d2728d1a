"""Reads of training runs, always through the acting principal."""
from __future__ import annotations

from django.db.models import QuerySet

from prefcontent.brands.models import Brand
from prefcontent.core.errors import NotFound
from prefcontent.tenancy.principal import Principal, scope_to_principal
from prefcontent.training.models import TrainingRun


def training_run_list(*, principal: Principal, brand_id: int | None = None) -> QuerySet[TrainingRun]:
    """One brand's runs for anyone who sees the brand; without a brand, the cross-brand ops view.

    The cross-brand listing covers the brands of organizations where the principal holds
    "ops.read" (owners, admins, ops); marketers and viewers list per brand.
    """
    qs = scope_to_principal(TrainingRun.objects.all(), principal).select_related("brand", "adapter_version")
    if brand_id is not None:
        return qs.filter(brand_id=brand_id)
    if principal.is_system:
        return qs
    org_ids = [org for org in principal.organization_ids() if principal.can("ops.read", organization_id=org)]
    return qs.filter(brand__in=Brand.objects.filter(organization_id__in=org_ids))


def training_run_get(*, principal: Principal, run_id) -> TrainingRun:
    run = scope_to_principal(TrainingRun.objects.all(), principal).select_related(
        "brand", "adapter_version").filter(pk=run_id).first()
    if run is None:
        raise NotFound("Training run not found.")
    return run
