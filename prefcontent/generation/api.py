"""REST API of generation: generate (sync or a job to poll), score candidates, read jobs, trace a variant.

Scoring is read-like (it stores nothing but the job row), so viewers may call it. API keys
need the `generate` scope for generating, scoring and reading jobs (each job occupies a
generate worker); a variant's lineage is content, readable with `content:read`.
"""
from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.response import Response

from prefcontent.brands.selectors import brand_get
from prefcontent.content.models import Brief
from prefcontent.content.selectors import brief_get, variant_get
from prefcontent.core.errors import InvalidInput
from prefcontent.generation import services
from prefcontent.generation.conf import generation_settings
from prefcontent.generation.models import GenerationJob
from prefcontent.generation.selectors import generation_job_get, variant_lineage
from prefcontent.generation.serializers import (
    GenerateIn,
    GenerationJobOut,
    LineageOut,
    ScoreIn,
)
from prefcontent.tenancy.roles import SCOPE_CONTENT_READ, SCOPE_GENERATE
from prefcontent.tenancy.views import TenantAPIView, TenantViewSet

_RESPONSES = {
    200: GenerationJobOut,
    202: OpenApiResponse(GenerationJobOut, description="Not done yet (asynchronous, or over the sync timeout): "
                                                       "poll `poll_url`."),
}


def _brief(principal, brand, data: dict) -> Brief:
    """The brand's existing brief (404 for anyone else's) or an unsaved inline one."""
    if ("brief_id" in data) == ("brief" in data):
        raise InvalidInput("Give exactly one of brief_id or brief.", code="brief_required")
    if "brief_id" in data:
        return brief_get(principal=principal, brief_id=data["brief_id"])  # the service refuses another brand's
    return Brief(brand=brand, **data["brief"])


def _answer(principal, job: GenerationJob, *, wait: bool) -> Response:
    """Sync: 200 with the result (a failure becomes its 4xx/503 error), or 202 past the timeout. Async: 202."""
    if wait:
        job = services.generation_job_wait(job=job, timeout_s=generation_settings().sync_timeout_s)
        services.generation_job_raise_failure(job)
    job = generation_job_get(principal=principal, job_id=job.pk)
    code = status.HTTP_200_OK if wait and job.is_done else status.HTTP_202_ACCEPTED
    return Response(GenerationJobOut(job).data, status=code)


class GenerateView(TenantAPIView):
    """Generate brand copy for a brief with the brand's active adapter (or the base model; the response says)."""

    api_key_write_scope = SCOPE_GENERATE

    @extend_schema(request=GenerateIn, responses=_RESPONSES)
    def post(self, request, brand_id: int):
        brand = brand_get(principal=self.principal, brand_id=brand_id)
        data = GenerateIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        brief = _brief(self.principal, brand, values)
        params = services.sampling_params(**{k: values.get(k) for k in
                                             ("n", "temperature", "top_p", "max_new_tokens", "seed", "best_of")})
        job = services.generation_job_create(principal=self.principal, brand=brand, brief=brief,
                                             channel=values.get("channel"), params=params,
                                             use_base_model=values["use_base_model"])
        big = max(params.n, params.best_of or 0) > generation_settings().sync_max_n
        return _answer(self.principal, job, wait=not (values["async"] or big))


class ScoreView(TenantAPIView):
    """Rank candidate texts by the brand adapter's implicit preference (DPO reward); read-like, viewers may call."""

    api_key_write_scope = SCOPE_GENERATE

    @extend_schema(request=ScoreIn, responses=_RESPONSES)
    def post(self, request, brand_id: int):
        brand = brand_get(principal=self.principal, brand_id=brand_id)
        data = ScoreIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        job = services.generation_score_create(principal=self.principal, brand=brand,
                                               brief=_brief(self.principal, brand, values),
                                               channel=values.get("channel"), texts=values["candidates"])
        return _answer(self.principal, job, wait=not values["async"])


class GenerationJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Generation and score jobs of the brands you may see (`?brand=` filters the list)."""

    queryset = GenerationJob.objects.select_related("adapter_version").prefetch_related("candidates")
    serializer_class = GenerationJobOut
    api_key_read_scope = SCOPE_GENERATE


class VariantLineageView(TenantAPIView):
    """Trace a variant to the generation job, adapter version, training run, dataset and experiments behind it."""

    api_key_read_scope = SCOPE_CONTENT_READ

    @extend_schema(responses=LineageOut)
    def get(self, request, variant_id: int):
        variant = variant_get(principal=self.principal, variant_id=variant_id)
        return Response(LineageOut(variant_lineage(variant)).data)
