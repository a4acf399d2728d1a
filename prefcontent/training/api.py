"""Training runs API: create, list (per brand, or across brands for ops), retrieve, cancel, retry."""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from prefcontent.adapters.models import AdapterVersion
from prefcontent.brands.selectors import brand_get
from prefcontent.core.errors import NotFound
from prefcontent.core.fields import parse_id
from prefcontent.tenancy.views import TenantViewSet
from prefcontent.training import selectors, services
from prefcontent.training.models import TrainingRun
from prefcontent.training.serializers import (
    TrainingRunCreateIn,
    TrainingRunListOut,
    TrainingRunOut,
)


class TrainingRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """LoRA DPO training runs of a brand. Starting, cancelling and retrying need "training.write"."""

    queryset = TrainingRun.objects.all()
    serializer_class = TrainingRunOut

    def get_queryset(self):
        if self.action == "list":
            brand = self.request.query_params.get("brand")
            if brand is not None:
                return selectors.training_run_list(principal=self.principal, brand_id=parse_id(brand)) \
                    if parse_id(brand) else TrainingRun.objects.none()
            return selectors.training_run_list(principal=self.principal)
        return super().get_queryset().select_related("brand", "adapter_version")

    def get_serializer_class(self):
        return TrainingRunListOut if self.action == "list" else TrainingRunOut

    @extend_schema(parameters=[OpenApiParameter("brand", OpenApiTypes.INT, description=(
        "One brand's runs. Without it: every brand of the organizations where you hold ops rights."))])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=TrainingRunCreateIn, responses={201: TrainingRunOut})
    def create(self, request):
        data = TrainingRunCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        brand = brand_get(principal=self.principal, brand_id=values["brand"])
        from prefcontent.preferences.models import DatasetSnapshot

        snapshot = DatasetSnapshot.objects.filter(pk=values["snapshot"], brand=brand).first()
        if snapshot is None:
            raise NotFound("Dataset snapshot not found.")
        parent = None
        if values.get("parent_adapter") is not None:
            parent = AdapterVersion.objects.filter(pk=values["parent_adapter"], brand=brand).first()
            if parent is None:
                raise NotFound("Parent adapter not found.")
        run = services.training_run_create(principal=self.principal, brand=brand, snapshot=snapshot,
                                           parent_adapter=parent, hyperparameters=values["hyperparameters"])
        return Response(TrainingRunOut(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=TrainingRunOut)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        run = services.training_run_cancel(principal=self.principal, run=self.get_object())
        return Response(TrainingRunOut(run).data)

    @extend_schema(request=None, responses=TrainingRunOut)
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        run = services.training_run_retry(principal=self.principal, run=self.get_object())
        return Response(TrainingRunOut(run).data)
