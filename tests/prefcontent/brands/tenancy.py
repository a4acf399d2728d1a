from prefcontent.brands.compliance_models import ComplianceRule
from tests.tenancy import RouteCase


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
