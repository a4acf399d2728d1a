"""The service-level twin of the HTTP tenancy and role matrices: each write service checks for itself.

Derived from the code: every public function of prefcontent that takes a `principal` (outside the
interfaces that call services, the selectors that read and tenancy itself), and every public
function of a module holding one, must be a `ServiceCase` (checked) or `UNCHECKED` (with its
reason) in an app's tests/prefcontent/<app>/tenancy.py. A checked service's first statement
must be a `tenancy.access` call, and called directly (as a command or a task would call it) it
must refuse a viewer (403), another tenant (404) and an API key without the scope (403) or of
another brand (404), writing nothing when it refuses; the owner, and a key holding the
capability's scope, get through.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import textwrap

import pytest
from django.apps import apps

import prefcontent
from prefcontent.accounts.models import ApiKey
from prefcontent.core.errors import Forbidden, NotFound
from prefcontent.tenancy import access
from prefcontent.tenancy.principal import principal_for_api_key, principal_for_user
from prefcontent.tenancy.roles import CAPABILITIES, SCOPES, VIEWER
from tests.factories import ApiKeyFactory
from tests.prefcontent.conftest import make_world
from tests.tenancy import ServiceCase, load_service_registry

SERVICES, UNCHECKED = load_service_registry()
# Modules that are not services: the interfaces that call them (their checks are the services'),
# reads, tenancy (the checker) and core (the ground floor imports no app, so it holds no tenant rows).
NOT_SERVICES = re.compile(r"^prefcontent\.(core|tenancy|dashboard)(\.|$)|\.(migrations|management|api|api_\w+|"
                          r"\w+_api|urls|api_urls|admin|serializers|selectors|tasks|apps)(\.|$)|"
                          r"^prefcontent\.(settings|wsgi|celery)$")
CHECKS = {"brand_require", "organization_require", "capability_require", "person_require"}


def _public_functions():
    """(module, "module.function", function) for every public function defined in a service-side module."""
    for info in pkgutil.walk_packages(prefcontent.__path__, prefix="prefcontent."):
        if NOT_SERVICES.search(info.name):
            continue
        module = importlib.import_module(info.name)
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if not name.startswith("_") and function.__module__ == module.__name__:
                yield module, f"{module.__name__}.{name}", function


def _takes_principal(function) -> bool:
    return "principal" in inspect.signature(function).parameters


def _discovered() -> dict[str, object]:
    """The functions the tables must classify: those taking a principal, and their modules' other functions."""
    found = list(_public_functions())
    service_modules = {module.__name__ for module, _, function in found if _takes_principal(function)}
    service_modules |= {module.__name__ for module, _, _ in found  # services.py, *_services.py, services/
                        if re.search(r"[._]services(\.|$)", module.__name__)}
    return {name: function for module, name, function in found if module.__name__ in service_modules}


DISCOVERED = _discovered()


def test_every_service_is_checked_or_says_why_not():
    missing = sorted(set(DISCOVERED) - set(SERVICES) - set(UNCHECKED))
    assert not missing, f"add a ServiceCase (or an UNCHECKED reason) in tests/prefcontent/<app>/tenancy.py: {missing}"
    assert not set(SERVICES) & set(UNCHECKED)
    stale = sorted((set(SERVICES) | set(UNCHECKED)) - set(DISCOVERED))  # also fails a scan that finds nothing
    assert not stale, f"registered but not found in the code: {stale}"


def test_unchecked_functions_that_take_a_principal_only_read_or_record_it():
    """A function that takes a principal and is not checked must be a read or the audit record."""
    taking = {name for name in UNCHECKED if _takes_principal(DISCOVERED[name])}
    assert all(UNCHECKED[name].startswith(("a read", "records the principal")) for name in taking), taking


def _first_statement(function) -> ast.stmt:
    source = textwrap.dedent(inspect.getsource(inspect.unwrap(function)))
    body = ast.parse(source).body[0].body
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(
            body[0].value.value, str):
        body = body[1:]  # the docstring
    return body[0]


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_a_write_service_checks_first_through_tenancy_access(name):
    function = DISCOVERED[name]
    first = _first_statement(function)
    call = first.value if isinstance(first, ast.Expr) else None
    assert isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and isinstance(
        call.func.value, ast.Name) and call.func.value.id == "access" and call.func.attr in CHECKS, (
        f"{name} must start with access.<{'|'.join(sorted(CHECKS))}>(...), not: {ast.unparse(first)}")
    assert inspect.getmodule(function).access is access


def _db_state() -> dict:
    return {model._meta.label: list(model.objects.order_by("pk").values()) for model in apps.get_models()}


def _key(brand, scopes: list[str]):
    prefix = ApiKeyFactory.issue(brand=brand, scopes=scopes).split("_")[1]
    return principal_for_api_key(ApiKey.objects.select_related("brand").get(prefix=prefix))


def _refused(service, kwargs: dict, principal, error: type, case: ServiceCase):
    """Call the service as `principal`, expect `error` (or, for NotFound, the case's in-result answer)
    and no write at all; return the error."""
    before = _db_state()
    if error is NotFound and case.not_found_in is not None:
        assert case.not_found_in(service(principal=principal, **kwargs))
        raised = None
    else:
        with pytest.raises(error) as caught:
            service(principal=principal, **kwargs)
        raised = caught.value
    assert _db_state() == before, "a refused call wrote something"
    return raised


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_a_write_service_refuses_whoever_may_not_and_writes_nothing(db, name):
    case, service = SERVICES[name], DISCOVERED[name]
    world = make_world()
    scope = access.API_KEY_SCOPES.get(case.capability)
    viewer, owner = principal_for_user(world.viewer_a), principal_for_user(world.owner_a)
    other_owner = principal_for_user(world.owner_b)
    key_without = _key(world.brand_a, [s for s in SCOPES if s != scope])
    key_with = _key(world.brand_a, [scope]) if scope else None
    other_key = _key(world.brand_b, list(SCOPES))
    kwargs = case.args(world)

    refused = _refused(service, kwargs, key_without, Forbidden, case)
    assert refused.code in {"missing_scope", "api_key_not_allowed"}
    allowed = [owner] + ([key_with] if key_with else [])
    if case.capability is None:  # any person: no tenant to be outside of
        allowed.append(viewer)
    else:
        _refused(service, kwargs, other_owner, NotFound, case)
        _refused(service, kwargs, other_key, NotFound, case)
        if VIEWER in CAPABILITIES[case.capability]:
            allowed.append(viewer)
        else:
            refused = _refused(service, kwargs, viewer, Forbidden, case)
            assert refused.code == "permission_denied"
            assert refused.details["capability"] == case.capability
    for principal in reversed(allowed):  # the owner last: its write may end the row (a delete)
        service(principal=principal, **kwargs)
