"""Adapter versions API: list and inspect (eval report, model card), promote and roll back."""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.response import Response

from prefcontent.adapters import services
from prefcontent.adapters.models import AdapterVersion
from prefcontent.adapters.serializers import AdapterVersionListOut, AdapterVersionOut
from prefcontent.tenancy.views import TenantViewSet


class AdapterVersionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """A brand's adapter versions. Promotion and rollback need "adapters.promote" and are audited."""

    queryset = AdapterVersion.objects.select_related("brand")
    serializer_class = AdapterVersionOut

    def get_serializer_class(self):
        return AdapterVersionListOut if self.action == "list" else AdapterVersionOut

    @extend_schema(parameters=[OpenApiParameter("brand", OpenApiTypes.INT, description="Only this brand's versions.")])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None, responses=AdapterVersionOut)
    @action(detail=True, methods=["post"])
    def promote(self, request, pk=None):
        """Make this candidate (or retired) version the brand's active adapter."""
        adapter = services.adapter_promote(principal=self.principal, adapter=self.get_object())
        return Response(AdapterVersionOut(adapter).data)

    @extend_schema(request=None, responses=AdapterVersionOut)
    @action(detail=True, methods=["post"])
    def rollback(self, request, pk=None):
        """Re-activate this version, older than the active one."""
        adapter = services.adapter_rollback(principal=self.principal, adapter=self.get_object())
        return Response(AdapterVersionOut(adapter).data)
