"""Generated from the URL configuration: isolation between tenants and role checks on writes."""
from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.conftest import client_for_key, client_for_user
from tests.tenancy import RouteCase, World, api_routes, load_registry

ROUTES = api_routes()
REGISTRY = load_registry()
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
KEY_REFUSALS = {"api_key_not_allowed", "missing_scope"}


def test_every_api_route_is_registered():
    missing = sorted(r.name for r in ROUTES if r.name not in REGISTRY)
    assert not missing, f"add a RouteCase in tests/prefcontent/<app>/tenancy.py for: {missing}"


def _url(route, case: RouteCase, world: World) -> str:
    kwargs = case.kwargs(world) if case.kwargs else {}
    return reverse(route.name, kwargs=kwargs)


def _call(client, method: str, url: str, body: dict | None):
    return getattr(client, method.lower())(url, body or {}, format="json")


def _cases(kind: str):
    for route in ROUTES:
        case = REGISTRY.get(route.name)
        if case is None or case.public:
            continue
        for method in route.methods:
            if kind == "write" and method not in UNSAFE:
                continue
            yield pytest.param(route, method, id=f"{route.name}:{method}")


def _listed_ids(response) -> set:
    data = response.json()
    rows = data.get("results", data) if isinstance(data, dict) else data
    return {row.get("id") for row in rows if isinstance(row, dict)} if isinstance(rows, list) else set()


@pytest.mark.smoke
@pytest.mark.parametrize(("route", "method"), list(_cases("all")))
@pytest.mark.parametrize("principal", ["user", "api_key"])
def test_other_tenant_gets_404_and_never_sees_rows(world, route, method, principal):
    case = REGISTRY[route.name]
    client = client_for_user(world.owner_b) if principal == "user" else client_for_key(world.key_b)
    url = _url(route, case, world)
    has_target = bool(route.params) or (method in UNSAFE and case.body is not None)
    response = _call(client, method, url, case.body(world) if case.body else None)
    if principal == "api_key" and response.status_code == 403:
        # Closed to API keys or outside the key's scopes: decided before any lookup, so it reveals nothing.
        assert response.json()["error"]["code"] in KEY_REFUSALS
        return
    if has_target:
        assert response.status_code == 404, (url, method, response.status_code, response.content[:300])
        body = response.json()
        assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"])
    elif method == "GET":
        assert response.status_code == 200, response.content[:300]
        hidden = case.hidden_ids(world) if case.hidden_ids else set()
        assert not (_listed_ids(response) & hidden), f"{url} shows another tenant's rows"


@pytest.mark.parametrize(("route", "method"), list(_cases("write")))
def test_viewer_cannot_write(world, route, method):
    case = REGISTRY[route.name]
    if method in case.viewer_may:
        pytest.skip("this write is open to viewers by design")
    response = _call(client_for_user(world.viewer_a), method, _url(route, case, world),
                     case.body(world) if case.body else None)
    assert response.status_code == 403, (route.name, method, response.status_code, response.content[:300])
    assert response.json()["error"]["code"] in {"permission_denied"}


def test_route_names_are_stable():
    for route in ROUTES:
        assert re.fullmatch(r"[a-z0-9-]+", route.name), route.name


@pytest.mark.parametrize(("route", "method"), list(_cases("write")))
def test_owner_is_never_refused_on_own_data(world, route, method):
    """The other end of the role matrix: the owner holds every capability (viewers hold none, above)."""
    case = REGISTRY[route.name]
    response = _call(client_for_user(world.owner_a), method, _url(route, case, world),
                     case.body(world) if case.body else None)
    assert response.status_code != 403 or response.json()["error"]["code"] != "permission_denied", (
        route.name, method, response.content[:300])
    assert response.status_code < 500
