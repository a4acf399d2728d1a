from prefcontent.brands.compliance_models import ComplianceRule
from tests.tenancy import RouteCase, ServiceCase


def _rule_a(w) -> int:
    return ComplianceRule.objects.create(brand=w.brand_a, kind="banned_phrase", pattern="guaranteed").pk


ROUTES = {
    "brand-list": RouteCase(
        hidden_ids=lambda w: {w.brand_a.pk},
        body=lambda w: {"organization": w.org_a.pk, "name": "Another brand"},
    ),
    "brand-detail": RouteCase(kwargs=lambda w: {"pk": w.brand_a.pk}, body=lambda w: {"voice": "Bold."}),
    "compliance-rule-list": RouteCase(
        hidden_ids=lambda w: {_rule_a(w)},
        body=lambda w: {"brand": w.brand_a.pk, "kind": "max_length", "limit": 80},
    ),
    "compliance-rule-detail": RouteCase(kwargs=lambda w: {"pk": _rule_a(w)}, body=lambda w: {"is_active": False}),
    "compliance-check": RouteCase(kwargs=lambda w: {"brand_id": w.brand_a.pk}, body=lambda w: {"text": "Hello"},
                                  viewer_may=("POST",)),
}


def _rule_row_a(w) -> ComplianceRule:
    return w.extra.setdefault("rule", ComplianceRule.objects.create(brand=w.brand_a, kind="banned_phrase",
                                                                    pattern="miracle"))


_SERVICES = "prefcontent.brands.services."
_RULES = "prefcontent.brands.compliance_services."
SERVICES = {
    _SERVICES + "brand_create": ServiceCase("brands.manage", lambda w: {"organization": w.org_a, "name": "Second"}),
    _SERVICES + "brand_update": ServiceCase("brands.edit", lambda w: {"brand": w.brand_a, "voice": "Bold."}),
    _SERVICES + "brand_settings_update": ServiceCase("brands.edit", lambda w: {
        "brand": w.brand_a, "changes": {"decision_threshold": 0.9}}),
    _SERVICES + "brand_delete": ServiceCase("brands.manage", lambda w: {"brand": w.brand_a}),
    _RULES + "compliance_rule_create": ServiceCase("brands.edit", lambda w: {
        "brand": w.brand_a, "kind": "max_length", "limit": 80}),
    _RULES + "compliance_rule_update": ServiceCase("brands.edit", lambda w: {"rule": _rule_row_a(w), "is_active": False}),
    _RULES + "compliance_rule_delete": ServiceCase("brands.edit", lambda w: {"rule": _rule_row_a(w)}),
}
UNCHECKED = {
    _SERVICES + "brand_artifact_prefix": "pure: names a models-store prefix",
}
