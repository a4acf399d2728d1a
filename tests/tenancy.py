"""The registry behind the generated cross-tenant and role tests.

Every named route under /api/v1/ must have a `RouteCase` in some app's
`tests/prefcontent/<app>/tenancy.py` (a module-level `ROUTES` dict keyed by route name).
`tests/prefcontent/test_tenancy_matrix.py` walks the URL configuration and fails for a route
without one, so a new route cannot ship without its isolation and role checks.
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


def load_registry() -> dict[str, RouteCase]:
    import tests.prefcontent as root

    registry: dict[str, RouteCase] = {}
    for info in pkgutil.walk_packages(root.__path__, prefix="tests.prefcontent."):
        if info.name.endswith(".tenancy"):
            module = importlib.import_module(info.name)
            overlap = set(registry) & set(module.ROUTES)
            assert not overlap, f"routes registered twice: {overlap}"
            registry.update(module.ROUTES)
    return registry


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
