"""REST endpoints: preference pairs (filter by status and reason), reports, snapshots, exports, history import."""
from __future__ import annotations

from django.conf import settings
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import FileUploadParser, MultiPartParser
from rest_framework.response import Response

from prefcontent.brands.selectors import brand_get
from prefcontent.core.errors import PayloadTooLarge
from prefcontent.core.fields import parse_id
from prefcontent.core.parsers import SafeJSONParser
from prefcontent.experiments.selectors import experiment_get
from prefcontent.preferences import selectors, services
from prefcontent.preferences.exports import export_lines
from prefcontent.preferences.history_import import history_import
from prefcontent.preferences.models import DatasetSnapshot, PreferencePair
from prefcontent.preferences.serializers import (
    BuildResultOut,
    DatasetSnapshotOut,
    ExportQueryIn,
    ImportQueryIn,
    ImportReportOut,
    PairBuildIn,
    PairReportOut,
    PreferencePairOut,
    SnapshotCreateIn,
)
from prefcontent.preferences.snapshots import snapshot_create
from prefcontent.tenancy.roles import SCOPE_CONTENT_READ
from prefcontent.tenancy.views import TenantAPIView, TenantViewSet


class PreferencePairViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Preference pairs with their evidence; excluded pairs carry every reason."""

    queryset = PreferencePair.objects.all()
    serializer_class = PreferencePairOut
    api_key_read_scope = SCOPE_CONTENT_READ

    def base_queryset(self):
        params = self.request.query_params if self.action == "list" else {}
        experiment = params.get("experiment")
        return selectors.pair_list(principal=self.principal, status=params.get("status"),
                                   reason=params.get("reason"),
                                   experiment_id=parse_id(experiment))

    @extend_schema(parameters=[
        OpenApiParameter("brand", int), OpenApiParameter("experiment", int),
        OpenApiParameter("status", str, enum=["active", "excluded"]),
        OpenApiParameter("reason", str, description="any exclusion reason of the pair"),
    ])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=PairBuildIn, responses=BuildResultOut)
    @action(detail=False, methods=["post"], url_path="build")
    def build(self, request):
        data = PairBuildIn(data=request.data)
        data.is_valid(raise_exception=True)
        experiment = experiment_get(principal=self.principal, experiment_id=data.validated_data["experiment"])
        result = services.pairs_build_on_demand(principal=self.principal, experiment=experiment,
                                                rebuild=data.validated_data["rebuild"])
        return Response(BuildResultOut(result).data)


class PairReportView(TenantAPIView):
    """Counts by status and reason, and what the active pairs would teach (bias report)."""

    api_key_read_scope = SCOPE_CONTENT_READ

    @extend_schema(responses=PairReportOut)
    def get(self, request, brand_id: int):
        brand = brand_get(principal=self.principal, brand_id=brand_id)
        return Response(selectors.pair_report(brand=brand))


class DatasetSnapshotViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Frozen datasets: immutable, content-hashed, with a deterministic train/holdout split."""

    queryset = DatasetSnapshot.objects.all()
    serializer_class = DatasetSnapshotOut

    @extend_schema(request=SnapshotCreateIn, responses={201: DatasetSnapshotOut})
    def create(self, request):
        data = SnapshotCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        brand = brand_get(principal=self.principal, brand_id=data.validated_data["brand"])
        snapshot = snapshot_create(principal=self.principal, brand=brand, name=data.validated_data["name"],
                                   holdout_fraction=data.validated_data["holdout_fraction"])
        return Response(DatasetSnapshotOut(snapshot).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[ExportQueryIn],
        responses={(200, "application/x-ndjson"): OpenApiResponse(OpenApiTypes.STR, description="JSONL rows")},
    )
    @action(detail=True, methods=["get"])
    def export(self, request, pk=None):
        snapshot = self.get_object()
        query = ExportQueryIn(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        lines = export_lines(snapshot, kind=q["kind"], split=q.get("split"), with_weight=q["weights"])
        response = StreamingHttpResponse(lines, content_type="application/x-ndjson")
        split = q.get("split") or "all"
        response["Content-Disposition"] = f'attachment; filename="snapshot-{snapshot.pk}-{q["kind"]}-{split}.jsonl"'
        return response


class HistoryImportView(TenantAPIView):
    """Import past A/B tests (CSV or JSONL, multipart `file` or the raw body). All rows or none."""

    parser_classes = [MultiPartParser, FileUploadParser, SafeJSONParser]

    @extend_schema(
        parameters=[ImportQueryIn],
        request={"multipart/form-data": {"type": "object", "properties": {"file": {"type": "string",
                                                                                 "format": "binary"}}},
                 "text/csv": OpenApiTypes.BINARY, "application/x-ndjson": OpenApiTypes.BINARY},
        responses={201: ImportReportOut},
    )
    def post(self, request, brand_id: int):
        brand = brand_get(principal=self.principal, brand_id=brand_id)
        query = ImportQueryIn(data=request.query_params)
        query.is_valid(raise_exception=True)
        limit = settings.MAX_IMPORT_BYTES
        if int(request.META.get("CONTENT_LENGTH") or 0) > limit + 64 * 1024:  # room for multipart framing
            raise PayloadTooLarge(f"The file is larger than {limit} bytes.", details={"max_bytes": limit})
        if request.content_type.startswith("multipart/"):
            upload = request.FILES.get("file")
            data, name = (upload.read(limit + 1), upload.name) if upload else (b"", "")
        else:
            data, name = request._request.read(limit + 1), ""
        outcome = history_import(
            principal=self.principal, brand=brand, data=data, filename=name,
            fmt=query.validated_data.get("file_format"), primary_metric=query.validated_data["primary_metric"],
            min_sample_per_arm=query.validated_data["min_sample_per_arm"],
        )
        return Response({"id": outcome.history_import.pk, **outcome.report}, status=status.HTTP_201_CREATED)
