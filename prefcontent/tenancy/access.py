"""Who may touch what, in one place: the first line of every write service asks here.

The service checks, not its caller, so an API view, a dashboard page, a command and a task
get the same answer (views do not repeat it). The rules:

- SYSTEM (beat tasks, workers, operator commands) passes.
- A row of another tenant answers 404, never 403, so ids cannot be probed.
- A person needs a role holding the capability in the row's organization (roles.CAPABILITIES);
  otherwise 403 naming the capability and the role.
- An API key acts on its own brand only (any other brand: 404) and only with the scope that
  grants the capability (API_KEY_SCOPES); a capability without a scope is for people only.
"""
from __future__ import annotations

from prefcontent.core.errors import Forbidden, NotFound
from prefcontent.tenancy.principal import Principal
from prefcontent.tenancy.roles import (
    SCOPE_ASSIGN,
    SCOPE_CONTENT_WRITE,
    SCOPE_EVENTS_WRITE,
    SCOPE_GENERATE,
    role_can,
)

# capability -> the API key scope that grants it on the key's brand (the scopes the API's views accept).
API_KEY_SCOPES: dict[str, str] = {
    "content.write": SCOPE_CONTENT_WRITE,
    "events.write": SCOPE_EVENTS_WRITE,
    "assign": SCOPE_ASSIGN,
    "generate": SCOPE_GENERATE,
    "score": SCOPE_GENERATE,
}


def brand_require(principal: Principal, brand, capability: str) -> None:
    """`principal` may do `capability` on `brand`'s rows: 404 for another tenant, 403 for a role or key without it."""
    brand_ref_require(principal, brand_id=brand.pk, organization_id=brand.organization_id, capability=capability)


def brand_ref_require(principal: Principal, *, brand_id: int, organization_id: int, capability: str) -> None:
    """brand_require for hot paths that hold the brand's ids, not its row (events, assignment)."""
    if principal.is_system:
        return
    if principal.is_api_key:
        if brand_id != principal.api_key_brand_id:
            raise NotFound("Not found.")
        _key_may(principal, capability)
        return
    _role_may(principal, organization_id, capability)


def organization_require(principal: Principal, organization, capability: str) -> None:
    """`principal` may do `capability` in `organization` (members, brands): keys never may."""
    if principal.is_system:
        return
    if organization.pk not in principal.organization_ids():
        raise NotFound("Not found.")
    if principal.is_api_key:
        _key_refused()
    _role_may(principal, organization.pk, capability)


def capability_require(principal: Principal, capability: str) -> None:
    """`principal` may do `capability` somewhere: for services that find their rows in the input
    (an events batch, an assignment by experiment id). They call brand_ref_require per brand once found."""
    if principal.is_system:
        return
    if principal.is_api_key:
        _key_may(principal, capability)
        return
    if not any(role_can(principal.role_in(org), capability) for org in principal.organization_ids()):
        raise Forbidden(f"Your role cannot do this ({capability}).", details={"capability": capability})


def person_require(principal: Principal) -> None:
    """A person (or SYSTEM) is acting, not an API key: e.g. creating an organization, which any person may."""
    if principal.is_api_key:
        _key_refused()
    if not (principal.is_user or principal.is_system):
        raise Forbidden("Only a signed-in person can do this.")


def scope_require(principal: Principal, scope: str) -> None:
    """An API key holds `scope` (people are not limited by scopes)."""
    if principal.is_api_key and scope not in principal.scopes:
        raise Forbidden(f"This API key lacks the '{scope}' scope.", code="missing_scope", details={"scope": scope})


def _key_may(principal: Principal, capability: str) -> None:
    scope = API_KEY_SCOPES.get(capability)
    if scope is None:
        _key_refused()
    scope_require(principal, scope)


def _key_refused() -> None:
    raise Forbidden("API keys cannot perform this action.", code="api_key_not_allowed")


def _role_may(principal: Principal, organization_id: int, capability: str) -> None:
    if organization_id not in principal.organization_ids():
        raise NotFound("Not found.")
    role = principal.role_in(organization_id)
    if not role_can(role, capability):
        raise Forbidden(f"Your role cannot do this ({capability}).", details={"capability": capability, "role": role})
