"""The base API classes: tenant scoping, role and scope checks, pagination and errors live here once.

A concrete view declares its model's path to the brand, the API key scopes it accepts for
reads and writes, and the role capability writes need; the rest is inherited.
"""
from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import viewsets
from rest_framework.views import APIView

from prefcontent.core.errors import Forbidden, NotFound
from prefcontent.tenancy.principal import Principal, principal_from_request, scope_to_principal

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
ANY_SCOPE = "*"  # any valid API key may call it


class PrincipalMixin:
    """Gives a view `self.principal` and the checks every tenant view needs."""

    # API key scopes accepted for safe / unsafe methods; None means API keys may not call it.
    api_key_read_scope: str | None = None
    api_key_write_scope: str | None = None

    @property
    def principal(self) -> Principal:
        return principal_from_request(self.request)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        principal = self.principal
        if principal.is_api_key:
            scope = self.api_key_read_scope if request.method in SAFE_METHODS else self.api_key_write_scope
            scope = self.api_key_scope_for_action(getattr(self, "action", None), scope)
            if scope is None:
                raise Forbidden("API keys cannot use this endpoint.", code="api_key_not_allowed")
            if scope != ANY_SCOPE:
                principal.require_scope(scope)

    def api_key_scope_for_action(self, action: str | None, default: str | None) -> str | None:
        """Override to give one action a different scope."""
        return default

    def require(self, capability: str, *, brand=None, organization_id: int | None = None) -> None:
        org_id = organization_id if organization_id is not None else brand.organization_id
        if brand is not None and self.principal.is_api_key and brand.pk != self.principal.api_key_brand_id:
            raise NotFound("Not found.")
        if self.principal.is_api_key:
            return  # scope already checked in initial()
        self.principal.require(capability, organization_id=org_id)


class TenantViewSet(PrincipalMixin, viewsets.GenericViewSet):
    """A viewset over a brand-owned model. Rows of other tenants are not in the queryset (404)."""

    brand_field = "brand"
    write_capability = "content.write"
    filterset_brand_param = "brand"

    def base_queryset(self) -> QuerySet:
        return self.queryset.all()

    def get_queryset(self) -> QuerySet:
        qs = scope_to_principal(self.base_queryset(), self.principal, brand_field=self.brand_field)
        brand = self.request.query_params.get(self.filterset_brand_param) if self.request else None
        if brand and getattr(self, "action", None) == "list":
            if not brand.isdigit():
                return qs.none()
            qs = qs.filter(**{self.brand_field: int(brand)})
        return qs

    def object_brand(self, obj):
        target = obj
        for part in self.brand_field.split("__"):
            target = getattr(target, part)
        return target

    def check_write(self, obj) -> None:
        self.require(self.write_capability, brand=self.object_brand(obj))


class TenantAPIView(PrincipalMixin, APIView):
    """A plain API view with the same principal checks."""
