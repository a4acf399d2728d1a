"""The acting principal: a person (with a role per organization) or a brand's API key.

Every tenant query goes through `visible_brand_ids` / `scope_to_principal`; a row of
another tenant is simply not in the queryset, so it answers 404, never 403. What a principal
may change is decided in `tenancy.access`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import QuerySet

from prefcontent.tenancy.roles import role_can


@dataclass(frozen=True)
class Principal:
    kind: str  # "user" | "api_key" | "system"
    user_id: int | None = None
    api_key_id: int | None = None
    api_key_prefix: str = ""
    api_key_brand_id: int | None = None
    api_key_org_id: int | None = None
    scopes: frozenset[str] = frozenset()
    roles: dict[int, str] = field(default_factory=dict)  # organization id -> role

    @property
    def is_user(self) -> bool:
        return self.kind == "user"

    @property
    def is_api_key(self) -> bool:
        return self.kind == "api_key"

    @property
    def is_system(self) -> bool:
        return self.kind == "system"

    def role_in(self, organization_id: int) -> str | None:
        return self.roles.get(organization_id)

    def organization_ids(self) -> list[int]:
        if self.is_api_key:
            return [self.api_key_org_id] if self.api_key_org_id else []
        return list(self.roles)

    def visible_brand_ids(self) -> QuerySet | list[int]:
        from prefcontent.brands.models import Brand

        if self.is_system:
            return Brand.objects.values_list("id", flat=True)
        if self.is_api_key:
            return [self.api_key_brand_id]
        return Brand.objects.filter(organization_id__in=list(self.roles)).values_list("id", flat=True)

    def can(self, capability: str, *, organization_id: int) -> bool:
        """Whether the role holds it, for reads and the dashboard's buttons; writes ask tenancy.access."""
        if self.is_system:
            return True
        if self.is_api_key:
            return False
        return role_can(self.role_in(organization_id), capability)


SYSTEM = Principal(kind="system")


def principal_for_user(user) -> Principal:
    from prefcontent.accounts.models import Membership

    roles = dict(Membership.objects.filter(user=user).values_list("organization_id", "role"))
    return Principal(kind="user", user_id=user.pk, roles=roles)


def principal_for_api_key(api_key) -> Principal:
    return Principal(
        kind="api_key",
        api_key_id=api_key.pk,
        api_key_prefix=api_key.prefix,
        api_key_brand_id=api_key.brand_id,
        api_key_org_id=api_key.brand.organization_id,
        scopes=frozenset(api_key.scopes),
    )


def principal_from_request(request) -> Principal:
    cached = getattr(request, "_principal", None)
    if cached is not None:
        return cached
    from prefcontent.accounts.models import ApiKey

    auth = getattr(request, "auth", None)
    if isinstance(auth, ApiKey):
        principal = principal_for_api_key(auth)
    elif request.user and request.user.is_authenticated:
        principal = principal_for_user(request.user)
    else:
        principal = Principal(kind="anonymous")
    request._principal = principal
    return principal


def scope_to_principal(queryset: QuerySet, principal: Principal, *, brand_field: str = "brand") -> QuerySet:
    """Restrict `queryset` to rows whose brand the principal may see."""
    if principal.is_system:
        return queryset
    if principal.kind == "anonymous":
        return queryset.none()
    return queryset.filter(**{f"{brand_field}__in": principal.visible_brand_ids()})
