"""The base API classes: tenant scoping and which endpoints API keys may call live here once.

A concrete view declares its model's path to the brand and the API key scopes it accepts for
reads and writes; the rest is inherited. Whether the principal may make a write is the
service's first line (tenancy.access), not the view's.
"""
from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from prefcontent.core.errors import Forbidden
from prefcontent.core.fields import parse_id
from prefcontent.core.idempotency import Replay, idempotency_begin, idempotency_finish
from prefcontent.tenancy.access import scope_require
from prefcontent.tenancy.principal import Principal, principal_from_request, scope_to_principal

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
ANY_SCOPE = "*"  # any valid API key may call it


class PrincipalMixin:
    """Gives a view `self.principal` and refuses API keys outside the endpoint's scopes, before any lookup."""

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
                scope_require(principal, scope)
        # Idempotency-Key (prefcontent.core.idempotency): after authentication and the scope check, so
        # a refused caller claims no key; before the handler, so a replay writes nothing.
        label = f"k{principal.api_key_id}" if principal.is_api_key else f"u{principal.user_id}" if principal.is_user else ""
        self._idempotency = idempotency_begin(request, label) if label else None

    def handle_exception(self, exc):
        if isinstance(exc, Replay):
            response = Response(exc.body, status=exc.status_code)
            response["Idempotent-Replayed"] = "true"
            return response
        record = getattr(self, "_idempotency", None)
        if record is not None:  # the write failed: release the key (an unhandled error skips finalize_response)
            self._idempotency = None
            idempotency_finish(record, status_code=500, body=None)
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        record = getattr(self, "_idempotency", None)
        if record is not None:
            self._idempotency = None
            idempotency_finish(record, status_code=response.status_code, body=getattr(response, "data", None))
        return super().finalize_response(request, response, *args, **kwargs)

    def api_key_scope_for_action(self, action: str | None, default: str | None) -> str | None:
        """Override to give one action a different scope."""
        return default


class TenantViewSet(PrincipalMixin, viewsets.GenericViewSet):
    """A viewset over a brand-owned model. Rows of other tenants are not in the queryset (404)."""

    brand_field = "brand"
    filterset_brand_param = "brand"

    def base_queryset(self) -> QuerySet:
        return self.queryset.all()

    def get_queryset(self) -> QuerySet:
        qs = scope_to_principal(self.base_queryset(), self.principal, brand_field=self.brand_field)
        brand = self.request.query_params.get(self.filterset_brand_param) if self.request else None
        if brand and getattr(self, "action", None) == "list":
            brand_id = parse_id(brand)
            if brand_id is None:
                return qs.none()
            qs = qs.filter(**{self.brand_field: brand_id})
        return qs


class TenantAPIView(PrincipalMixin, APIView):
    """A plain API view with the same principal checks."""
