"""The endpoints CMS plugins call with API keys: assignment, event ingestion and the JS snippet."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.http import require_GET
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response

from prefcontent.core.errors import (
    DomainError,
    InvalidInput,
    PayloadTooLarge,
    error_body,
)
from prefcontent.experiments.assignment import assignment_for_unit
from prefcontent.experiments.cors import CorsMixin
from prefcontent.experiments.ingestion import events_ingest
from prefcontent.experiments.serializers import (
    AssignIn,
    AssignmentOut,
    EventBatchIn,
    EventBatchOut,
)
from prefcontent.tenancy.roles import SCOPE_ASSIGN, SCOPE_EVENTS_WRITE
from prefcontent.tenancy.views import TenantAPIView

SNIPPET_PATH = Path(__file__).resolve().parent / "static" / "experiments" / "prefcontent-snippet.js"
DEFAULT_EVENTS_MAX_BYTES = 1024 * 1024
ERROR_RESPONSES = {code: OpenApiResponse(description="Error shape {error: {code, message, details}}")
                   for code in (400, 403, 404, 409, 413)}


class AssignView(CorsMixin, TenantAPIView):
    """Which arm (and text) a unit sees. Sticky; GET for pages, POST for plugins that prefer it."""

    api_key_read_scope = SCOPE_ASSIGN
    api_key_write_scope = SCOPE_ASSIGN

    def _assign(self, pk, unit_id) -> Response:
        result = assignment_for_unit(principal=self.principal, experiment_id=pk, unit_id=unit_id)
        return Response({"experiment": result.experiment_id, "arm": result.arm_id, "variant": result.variant_id,
                         "text": result.text, "status": result.status, "sticky": result.sticky})

    @extend_schema(parameters=[OpenApiParameter("unit_id", str, required=True)],
                   responses={200: AssignmentOut, **ERROR_RESPONSES})
    def get(self, request, pk):
        return self._assign(pk, request.query_params.get("unit_id"))

    @extend_schema(request=AssignIn, responses={200: AssignmentOut, **ERROR_RESPONSES})
    def post(self, request, pk):
        if not isinstance(request.data, dict):
            raise InvalidInput('Send {"unit_id": "..."} or ?unit_id=.', code="invalid_body")
        return self._assign(pk, request.data.get("unit_id") or request.query_params.get("unit_id"))


class EventsView(CorsMixin, TenantAPIView):
    """A batch of impressions, clicks and conversions; idempotent by event_id, validated per event."""

    api_key_read_scope = None
    api_key_write_scope = SCOPE_EVENTS_WRITE
    cors_methods = "POST, OPTIONS"
    checks_text_per_item = True  # ingestion refuses NUL / lone surrogates per event (core.parsers)

    @extend_schema(request=EventBatchIn, responses={200: EventBatchOut, **ERROR_RESPONSES})
    def post(self, request):
        limit = getattr(settings, "EVENTS_MAX_BYTES", DEFAULT_EVENTS_MAX_BYTES)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = limit + 1
        if length > limit:
            raise PayloadTooLarge(f"An events body is at most {limit} bytes.", details={"max_bytes": limit})
        body = request.data
        if not isinstance(body, dict) or "events" not in body:
            raise InvalidInput("Send {\"events\": [...]}.", code="invalid_body")
        result = events_ingest(principal=self.principal, events=body["events"])
        payload = {"accepted": result.accepted, "duplicates": result.duplicates, "rejected": result.rejected}
        if result.accepted or result.duplicates:
            return Response(payload)
        codes = {r["error"]["code"] for r in result.rejected}
        if codes == {"unknown_experiment"}:
            error = DomainError("No event names an experiment you can see.", code="not_found")
            status = 404
        elif codes == {"experiment_not_running"}:
            error, status = DomainError("No event names a running experiment.", code="invalid_state"), 409
        else:
            error, status = DomainError("Every event in the batch is invalid.", code="invalid_events"), 400
        return Response(error_body(error.code, error.message, payload), status=status)


@require_GET
def snippet(request):
    """The CMS snippet. Cached briefly: a fix reaches pages within the hour."""
    response = HttpResponse(SNIPPET_PATH.read_bytes(), content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    response["Access-Control-Allow-Origin"] = "*"
    return response


class VisitorEraseView(TenantAPIView):
    """A data subject's erasure request: every event and assignment of one visitor (unit_id) in the brand."""

    @extend_schema(request={"application/json": {"type": "object", "properties": {"unit_id": {"type": "string"}}}},
                   responses={200: OpenApiResponse(description='{"events": n, "assignments": m}')})
    def post(self, request, brand_id: int):
        from prefcontent.brands.selectors import brand_get
        from prefcontent.experiments.visitor_erasure import visitor_erase

        brand = brand_get(principal=self.principal, brand_id=brand_id)
        body = request.data if isinstance(request.data, dict) else {}
        return Response(visitor_erase(principal=self.principal, brand=brand, unit_id=body.get("unit_id")))
