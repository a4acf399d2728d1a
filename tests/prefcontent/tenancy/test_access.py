"""The access rules themselves, on principals and rows built in memory (no database)."""
from __future__ import annotations

import pytest

from prefcontent.accounts.models import Organization
from prefcontent.brands.models import Brand
from prefcontent.core.errors import Forbidden, NotFound
from prefcontent.tenancy import access
from prefcontent.tenancy.principal import SYSTEM, Principal
from prefcontent.tenancy.roles import CAPABILITIES, ROLES, SCOPES

ORG, OTHER_ORG = 10, 20
BRAND = Brand(pk=1, organization_id=ORG)
SISTER_BRAND = Brand(pk=2, organization_id=ORG)  # same organization, another brand
OTHER_BRAND = Brand(pk=3, organization_id=OTHER_ORG)


def person(role: str, org: int = ORG) -> Principal:
    return Principal(kind="user", user_id=7, roles={org: role})


def key(scopes, brand: Brand = BRAND) -> Principal:
    return Principal(kind="api_key", api_key_id=5, api_key_prefix="abc", api_key_brand_id=brand.pk,
                     api_key_org_id=brand.organization_id, scopes=frozenset(scopes))


@pytest.mark.parametrize("capability", sorted(CAPABILITIES))
def test_system_passes_everything(capability):
    access.brand_require(SYSTEM, OTHER_BRAND, capability)
    access.organization_require(SYSTEM, Organization(pk=OTHER_ORG), capability)
    access.capability_require(SYSTEM, capability)
    access.person_require(SYSTEM)


@pytest.mark.parametrize("capability", sorted(CAPABILITIES))
@pytest.mark.parametrize("role", ROLES)
def test_a_person_may_exactly_what_the_role_table_says(role, capability):
    if role in CAPABILITIES[capability]:
        access.brand_require(person(role), BRAND, capability)
        access.organization_require(person(role), Organization(pk=ORG), capability)
        access.capability_require(person(role), capability)
        return
    with pytest.raises(Forbidden) as refused:
        access.brand_require(person(role), BRAND, capability)
    assert refused.value.code == "permission_denied"
    assert refused.value.details == {"capability": capability, "role": role}
    with pytest.raises(Forbidden):
        access.capability_require(person(role), capability)


def test_another_tenants_rows_are_not_found_whatever_the_role():
    with pytest.raises(NotFound):
        access.brand_require(person("owner"), OTHER_BRAND, "read")
    with pytest.raises(NotFound):
        access.organization_require(person("owner"), Organization(pk=OTHER_ORG), "org.manage")
    access.capability_require(person("owner", OTHER_ORG), "generate")  # holds it somewhere: rows are checked later


@pytest.mark.parametrize("capability", sorted(CAPABILITIES))
def test_an_api_key_acts_on_its_brand_with_the_capabilitys_scope_only(capability):
    scope = access.API_KEY_SCOPES.get(capability)
    if scope is None:
        with pytest.raises(Forbidden) as refused:
            access.brand_require(key(SCOPES), BRAND, capability)
        assert refused.value.code == "api_key_not_allowed"
    else:
        access.brand_require(key([scope]), BRAND, capability)
        access.capability_require(key([scope]), capability)
        with pytest.raises(Forbidden) as refused:
            access.brand_require(key(set(SCOPES) - {scope}), BRAND, capability)
        assert refused.value.code == "missing_scope" and refused.value.details == {"scope": scope}
    for elsewhere in (SISTER_BRAND, OTHER_BRAND):
        with pytest.raises(NotFound):
            access.brand_require(key(SCOPES), elsewhere, capability)


def test_api_keys_never_manage_an_organization():
    with pytest.raises(Forbidden) as refused:
        access.organization_require(key(SCOPES), Organization(pk=ORG), "brands.manage")
    assert refused.value.code == "api_key_not_allowed"
    with pytest.raises(NotFound):
        access.organization_require(key(SCOPES), Organization(pk=OTHER_ORG), "brands.manage")


def test_person_require_lets_people_through_and_nobody_else():
    access.person_require(person("viewer"))
    for principal in (key(SCOPES), Principal(kind="anonymous")):
        with pytest.raises(Forbidden):
            access.person_require(principal)


def test_every_mapped_scope_and_capability_exists():
    assert set(access.API_KEY_SCOPES) <= set(CAPABILITIES)
    assert set(access.API_KEY_SCOPES.values()) <= set(SCOPES)
