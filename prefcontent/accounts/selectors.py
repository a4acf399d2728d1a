"""Reads for organizations, members, API keys and the audit log, always scoped to the principal."""
from __future__ import annotations

from django.db.models import QuerySet

from prefcontent.accounts.models import ApiKey, AuditLog, Membership, Organization
from prefcontent.tenancy.principal import Principal, scope_to_principal


def organization_list(*, principal: Principal) -> QuerySet[Organization]:
    return Organization.objects.filter(pk__in=principal.organization_ids()).order_by("id")


def membership_list(*, principal: Principal) -> QuerySet[Membership]:
    if principal.is_api_key:
        return Membership.objects.none()
    return (
        Membership.objects.filter(organization_id__in=principal.organization_ids())
        .select_related("user", "organization")
        .order_by("id")
    )


def api_key_list(*, principal: Principal) -> QuerySet[ApiKey]:
    if principal.is_api_key:
        return ApiKey.objects.none()
    return scope_to_principal(ApiKey.objects.select_related("brand"), principal).order_by("id")


def audit_log_list(*, principal: Principal) -> QuerySet[AuditLog]:
    if principal.is_api_key:
        return AuditLog.objects.none()
    return AuditLog.objects.filter(organization_id__in=principal.organization_ids())
