"""The registry behind the generated cross-tenant and role tests.

Every named route under /api/v1/ must have a `RouteCase` in some app's
`tests/prefcontent/<app>/tenancy.py` (a module-level `ROUTES` dict keyed by route name).
`tests/prefcontent/test_tenancy_matrix.py` walks the URL configuration and fails for a route
without one, so a new route cannot ship without its isolation and role checks.

The same modules hold the service-level twin: `SERVICES` (a `ServiceCase` per write service,
keyed "module.function") and `UNCHECKED` (the public functions of service modules that check
nobody, each with the reason). `tests/prefcontent/test_service_access_matrix.py` discovers the
services in the code and fails for one in neither table.
"""
from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field

from django.urls import URLPattern, URLResolver, get_resolver


@dataclass
class World:
    """Two organizations, A and B, each with a brand, an owner, a viewer and an all-scopes API key."""

    org_a: object
    org_b: object
    brand_a: object
    brand_b: object
    owner_a: object
    owner_b: object
    viewer_a: object
    key_a: str
    key_b: str
    extra: dict = field(default_factory=dict)


@dataclass
class RouteCase:
    # Path kwargs naming one of A's objects (detail routes and brand-scoped actions).
    kwargs: Callable[[World], dict] | None = None
    # A request body that targets A's data, for POST/PUT/PATCH (B must get 404, A's viewer 403).
    body: Callable[[World], dict] | None = None
    # Ids of A's rows a list must never show to B (defaults to kwargs' "pk").
    hidden_ids: Callable[[World], set] | None = None
    # Methods exempt from the role check (e.g. a read-only POST such as scoring).
    viewer_may: tuple[str, ...] = ()
    # Routes that are not tenant data at all (auth, health): skipped by both checks.
    public: bool = False


@dataclass
class ServiceCase:
    """How to call one write service on organization A's data; the principal is the test's to choose."""

    # The capability the service requires (the 403 names it); None: any person, never an API key.
    capability: str | None
    # Keyword arguments but `principal`, aimed at A's rows (rows made here exist before the service runs).
    args: Callable[[World], dict]
    # For services that answer another tenant's ids in their result rather than with 404 (an events
    # batch rejects each such event): True when the result shows that the rows were not found.
    not_found_in: Callable[[object], bool] | None = None


def _tenancy_modules():
    import tests.prefcontent as root

    for info in pkgutil.walk_packages(root.__path__, prefix="tests.prefcontent."):
        if info.name.endswith(".tenancy"):
            yield importlib.import_module(info.name)


def _merged(attribute: str) -> dict:
    registry: dict = {}
    for module in _tenancy_modules():
        entries = getattr(module, attribute, {})
        overlap = set(registry) & set(entries)
        assert not overlap, f"{attribute} registered twice: {overlap}"
        registry.update(entries)
    return registry


def load_registry() -> dict[str, RouteCase]:
    return _merged("ROUTES")


def load_service_registry() -> tuple[dict[str, ServiceCase], dict[str, str]]:
    """(SERVICES, UNCHECKED) of every app."""
    return _merged("SERVICES"), _merged("UNCHECKED")


@dataclass
class ApiRoute:
    name: str
    route: str
    methods: tuple[str, ...]
    params: tuple[str, ...]


def _methods(callback) -> tuple[str, ...]:
    actions = getattr(callback, "actions", None)
    if actions:
        return tuple(sorted(m.upper() for m in actions))
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    return tuple(sorted(m.upper() for m in ("get", "post", "put", "patch", "delete") if hasattr(view_class, m)))


def api_routes() -> list[ApiRoute]:
    """Every named route under /api/v1/, with the methods it allows."""
    found: list[ApiRoute] = []

    def walk(patterns, prefix: str):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                full = prefix + str(p.pattern)
                if full.startswith("api/v1/") and p.name and "format" not in p.pattern.regex.groupindex:
                    params = tuple(p.pattern.regex.groupindex)
                    found.append(ApiRoute(p.name, full, _methods(p.callback), params))

    walk(get_resolver().url_patterns, "")
    return found
