from prefcontent.accounts.models import ApiKey, AuditLog, Membership
from tests.factories import UserFactory
from tests.tenancy import RouteCase


def _key_a(w):
    return ApiKey.objects.filter(brand=w.brand_a).first().pk


def _viewer_membership_a(w):
    return Membership.objects.get(organization=w.org_a, user=w.viewer_a).pk


def _audit_a(w):
    return {AuditLog.objects.create(organization=w.org_a, action="test.event").pk}


ROUTES = {
    "auth-token": RouteCase(public=True),
    "auth-token-revoke": RouteCase(public=True),
    "me": RouteCase(public=True),
    "organization-list": RouteCase(hidden_ids=lambda w: {w.org_a.pk}, viewer_may=("POST",)),
    "organization-detail": RouteCase(kwargs=lambda w: {"pk": w.org_a.pk}, body=lambda w: {"name": "Renamed"}),
    "membership-list": RouteCase(
        hidden_ids=lambda w: set(Membership.objects.filter(organization=w.org_a).values_list("pk", flat=True)),
        body=lambda w: {"organization": w.org_a.pk, "username": UserFactory().username, "role": "viewer"},
    ),
    "membership-detail": RouteCase(kwargs=lambda w: {"pk": _viewer_membership_a(w)},
                                   body=lambda w: {"role": "marketer"}),
    "api-key-list": RouteCase(
        hidden_ids=lambda w: {_key_a(w)},
        body=lambda w: {"brand": w.brand_a.pk, "name": "new", "scopes": ["assign"]},
    ),
    "api-key-detail": RouteCase(kwargs=lambda w: {"pk": _key_a(w)}),
    "api-key-revoke": RouteCase(kwargs=lambda w: {"pk": _key_a(w)}),
    "audit-log-list": RouteCase(hidden_ids=_audit_a),
}
