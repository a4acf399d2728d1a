from prefcontent.accounts.models import ApiKey, AuditLog, Membership
from tests.factories import UserFactory
from tests.tenancy import RouteCase, ServiceCase


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


def _key_row_a(w):
    return ApiKey.objects.select_related("brand").filter(brand=w.brand_a).first()


def _viewer_membership_row_a(w):
    return Membership.objects.get(organization=w.org_a, user=w.viewer_a)


_SERVICES = "prefcontent.accounts.services."
SERVICES = {
    _SERVICES + "organization_create": ServiceCase(None, lambda w: {"name": "Founded", "user": w.viewer_a}),
    _SERVICES + "organization_update": ServiceCase("org.manage", lambda w: {"organization": w.org_a, "name": "New"}),
    _SERVICES + "membership_add": ServiceCase("members.manage", lambda w: {
        "organization": w.org_a, "username": UserFactory().username, "role": "viewer"}),
    _SERVICES + "membership_change_role": ServiceCase("members.manage", lambda w: {
        "membership": _viewer_membership_row_a(w), "role": "marketer"}),
    _SERVICES + "membership_remove": ServiceCase("members.manage", lambda w: {
        "membership": _viewer_membership_row_a(w)}),
    _SERVICES + "api_key_create": ServiceCase("keys.manage", lambda w: {
        "brand": w.brand_a, "name": "new", "scopes": ["assign"]}),
    _SERVICES + "api_key_revoke": ServiceCase("keys.manage", lambda w: {"api_key": _key_row_a(w)}),
}
UNCHECKED = {
    _SERVICES + "audit_record": "records the principal as the actor of a write its caller checked",
    _SERVICES + "membership_get": "a read, scoped to the principal's organizations (404 otherwise)",
    _SERVICES + "user_token_create": "signing in: the user was just authenticated by password",
    _SERVICES + "user_token_revoke": "signing out: the token revokes itself",
}
