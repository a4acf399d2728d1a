"""Every write route tried by every role and every API key scope (issue: role and scope matrix).

Expectations are derived, not listed: the roles a route lets through must be exactly the roles
of one capability in prefcontent/tenancy/roles.py (so no route invents its own rule), viewers are
always refused, owners never; and an API key is let through by at most one scope per route
(the one the view declares).
"""
from __future__ import annotations

from collections import defaultdict

import pytest

from prefcontent.tenancy.roles import CAPABILITIES, ROLES, SCOPES
from tests.conftest import client_for_key, client_for_user
from tests.factories import ApiKeyFactory, MembershipFactory
from tests.prefcontent.conftest import make_world
from tests.prefcontent.test_tenancy_matrix import REGISTRY, _call, _cases, _url

REFUSALS = {"permission_denied", "api_key_not_allowed", "missing_scope"}
WRITE_CASES = list(_cases("write"))


def _refused(response) -> bool:
    assert response.status_code < 500, response.content[:300]
    return response.status_code == 403 and response.json()["error"]["code"] in REFUSALS


@pytest.fixture
def outcome(db):
    """Call one write route as one principal of organization A, on A's own data (a fresh world each time,
    so one principal's successful write cannot change what the next one sees)."""

    def call(route, method, principal: str) -> bool:
        world = make_world()
        case = REGISTRY[route.name]
        if principal.startswith("role:"):
            user = MembershipFactory(organization=world.org_a, role=principal[5:]).user
            client = client_for_user(user)
        else:
            client = client_for_key(ApiKeyFactory.issue(brand=world.brand_a, scopes=[principal[6:]]))
        response = _call(client, method, _url(route, case, world), case.body(world) if case.body else None)
        return not _refused(response)

    return call


@pytest.mark.parametrize(("route", "method"), WRITE_CASES)
def test_roles_allowed_on_a_write_route_match_one_capability(outcome, route, method):
    allowed = set()
    for role in ROLES:
        if outcome(route, method, f"role:{role}"):
            allowed.add(role)
    case = REGISTRY[route.name]
    if method in case.viewer_may:
        assert allowed == set(ROLES), allowed
        return
    assert "owner" in allowed and "viewer" not in allowed, allowed
    matches = [name for name, roles in CAPABILITIES.items() if roles == allowed]
    assert matches, f"{route.name} {method} lets {sorted(allowed)} through: no capability in roles.py has exactly these"


@pytest.mark.parametrize(("route", "method"), WRITE_CASES)
def test_at_most_one_api_key_scope_opens_a_write_route(outcome, route, method):
    opened = [scope for scope in SCOPES if outcome(route, method, f"scope:{scope}")]
    assert len(opened) <= 1, f"{route.name} {method} opens to several scopes: {opened}"


def test_the_matrix_covers_every_write_route():
    by_route = defaultdict(set)
    for param in WRITE_CASES:
        route, method = param.values
        by_route[route.name].add(method)
    assert len(by_route) >= 20
