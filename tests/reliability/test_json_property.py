"""Arbitrary JSON at every write route, for every kind of principal: never a 5xx, errors in one shape.

Issue #23's property: any nesting, any unicode (NUL and lone surrogates included), any number (up
to 1e308 and far beyond 64 bits). The routes and the path arguments that name real rows come from
the URL configuration and the tenancy registry, so a new route is fuzzed without editing this file.
Bodies are arbitrary JSON, or the route's valid body with one field replaced by arbitrary JSON, or
with extra fields named like the API's own fields (so they get past the first check).

PROPERTY_EXAMPLES (default 2) sets examples per route and principal; `make fuzz` runs 50.
"""
from __future__ import annotations

import os
import zlib

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from tests.conftest import client_for_key, client_for_user
from tests.factories import ApiKeyFactory, MembershipFactory
from tests.hostile import ERROR_KEYS, nested, send
from tests.prefcontent.conftest import make_world
from tests.tenancy import api_routes, load_registry

EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "2"))
REGISTRY = load_registry()
WRITES = ("POST", "PUT", "PATCH")
ROLES = ("owner", "admin", "marketer", "ops", "viewer")

# What careless and hostile clients send, drawn often; then any text at all.
HOSTILE_TEXT = ["a\x00b", "\ud800", "x\udfffy", "²", "abc\n", "", " ", "x" * 300, "<script>", "1e400", "-0"]
_text = st.one_of(st.sampled_from(HOSTILE_TEXT),
                  st.text(alphabet=st.one_of(st.characters(), st.sampled_from(["\x00", "\ud800", "\n"])),
                          max_size=12))
_numbers = st.one_of(st.integers(), st.sampled_from([0, -1, 2**31, 2**63 - 1, 2**63, -(2**63) - 1, 10**20]),
                     st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([1e308, -1e308, 5e-324]))
_leaves = st.one_of(st.none(), st.booleans(), _numbers, _text)


def _known_keys() -> list[str]:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    keys = {name for component in schema["components"]["schemas"].values()
            for name in component.get("properties", {})}
    return sorted(keys)


def json_values(keys: list[str]):
    key = st.one_of(st.sampled_from(keys), _text)
    return st.recursive(_leaves, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(key, inner, max_size=4)), max_leaves=12)


def _deep(depth: int):
    value: object = "leaf"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


def bodies(good: dict, keys: list[str]):
    hostile = st.sampled_from([*HOSTILE_TEXT, 10**20, 2**63, -(2**63) - 1, 1e308, -1, 0, [1, 2], None, {},
                               _deep(30)])
    anything = st.one_of(hostile, json_values(keys))
    # Raw bodies nested too deep for json.dumps (and Python's parser) to handle recursively.
    too_deep = st.sampled_from([nested(40), nested(1000), nested(5000), "[" * 100_000 + "]" * 100_000])
    options = [st.dictionaries(st.sampled_from(keys), anything, max_size=4).map(lambda d: {**good, **d}), anything,
               too_deep]
    if good:  # the route's valid body with one field replaced: this gets past the first checks
        options.insert(0, st.sampled_from(sorted(good)).flatmap(lambda k: anything.map(lambda v: {**good, k: v})))
    return st.one_of(*options)


def _principals(world) -> dict:
    clients = {f"user:{role}": client_for_user(MembershipFactory(organization=world.org_a, role=role).user)
               for role in ROLES}
    clients["user:other-tenant"] = client_for_user(world.owner_b)
    clients["key:all-scopes"] = client_for_key(world.key_a)
    clients["key:events-only"] = client_for_key(ApiKeyFactory.issue(brand=world.brand_a, scopes=["events:write"]))
    from rest_framework.test import APIClient

    clients["anonymous"] = APIClient()
    return clients


def _check(response, label: str) -> None:
    assert response.status_code < 500, (label, response.status_code, response.content[:400])
    if response.status_code >= 400:
        assert response["Content-Type"].startswith("application/json"), (label, response["Content-Type"])
        body = response.json()
        assert set(body) == {"error"} and set(body["error"]) == ERROR_KEYS, (label, body)
        assert isinstance(body["error"]["code"], str) and isinstance(body["error"]["message"], str), (label, body)


def _fuzz(principals: dict, method: str, url: str, strategy) -> None:
    """EXAMPLES bodies per principal on average, the principal drawn too; each principal at least once."""
    seen: set[str] = set()

    @seed(zlib.crc32(f"{method} {url}".encode()))  # reproducible, and another sequence for each route
    @given(name=st.sampled_from(sorted(principals)), body=strategy)
    @settings(max_examples=EXAMPLES * len(principals), deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(name, body):
        seen.add(name)
        _check(send(principals[name], method, url, body), f"{method} {url} as {name}")

    run()
    for name in sorted(set(principals) - seen):
        _check(send(principals[name], method, url, {"name": "\ud800", "brand": 10**20}), f"{method} {url} as {name}")


@pytest.mark.slow
def test_arbitrary_json_never_fails_a_write_route(db, sent_tasks):
    world = make_world()
    keys = _known_keys()
    principals = _principals(world)
    targets = []  # every URL and body first: the registry's callables create rows the fuzzing must not race
    for route in api_routes():
        case = REGISTRY.get(route.name)
        if case is None:
            continue
        url = reverse(route.name, kwargs=case.kwargs(world) if case.kwargs else {})
        good = case.body(world) if case.body else {}
        targets.extend((method, url, good) for method in route.methods if method in WRITES)
    failures: list[str] = []
    for method, url, good in targets:
        try:
            _fuzz(principals, method, url, bodies(good, keys))
        except Exception as exc:  # noqa: BLE001 - collect every route's failure, then report all
            failures.append(f"{method} {url}: {type(exc).__name__}: {str(exc)[:800]}")
    assert len(targets) > 20
    assert not failures, "\n\n".join(failures)
