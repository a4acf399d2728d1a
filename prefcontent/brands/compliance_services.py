"""Writes for brand compliance rules."""
from __future__ import annotations

from django.db import transaction

from prefcontent.accounts.services import audit_record
from prefcontent.brands.compliance import rule_validate
from prefcontent.brands.compliance_models import ComplianceRule
from prefcontent.brands.models import Brand
from prefcontent.core.errors import InvalidInput
from prefcontent.tenancy import access
from prefcontent.tenancy.principal import Principal

EDITABLE_FIELDS = ("pattern", "limit", "channel", "message", "is_active")


def _validate(*, kind: str, pattern: str, limit: float | None) -> None:
    try:
        rule_validate(kind=kind, pattern=pattern, limit=limit)
    except ValueError as exc:
        raise InvalidInput(str(exc), code="invalid_rule") from None


@transaction.atomic
def compliance_rule_create(
    *, principal: Principal, brand: Brand, kind: str, pattern: str = "", limit: float | None = None,
    channel: str = "", message: str = "", is_active: bool = True,
) -> ComplianceRule:
    access.brand_require(principal, brand, "brands.edit")
    _validate(kind=kind, pattern=pattern, limit=limit)
    rule = ComplianceRule.objects.create(brand=brand, kind=kind, pattern=pattern, limit=limit, channel=channel,
                                         message=message, is_active=is_active)
    audit_record(principal=principal, organization_id=brand.organization_id, brand_id=brand.pk,
                 action="compliance_rule.create", target=rule, data={"kind": kind})
    return rule


@transaction.atomic
def compliance_rule_update(*, principal: Principal, rule: ComplianceRule, **changes) -> ComplianceRule:
    access.brand_require(principal, rule.brand, "brands.edit")
    changed = {k: v for k, v in changes.items() if k in EDITABLE_FIELDS}
    for key, value in changed.items():
        setattr(rule, key, value)
    _validate(kind=rule.kind, pattern=rule.pattern, limit=rule.limit)
    rule.save(update_fields=list(changed) or None)
    audit_record(principal=principal, organization_id=rule.brand.organization_id, brand_id=rule.brand_id,
                 action="compliance_rule.update", target=rule, data={"fields": sorted(changed)})
    return rule


@transaction.atomic
def compliance_rule_delete(*, principal: Principal, rule: ComplianceRule) -> None:
    access.brand_require(principal, rule.brand, "brands.edit")
    audit_record(principal=principal, organization_id=rule.brand.organization_id, brand_id=rule.brand_id,
                 action="compliance_rule.delete", target=rule, data={"kind": rule.kind})
    rule.delete()
