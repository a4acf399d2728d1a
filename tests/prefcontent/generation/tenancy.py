from prefcontent.content.models import Variant
from prefcontent.generation.models import GenerationJob
from tests.tenancy import RouteCase


def _job_a(w) -> int:
    job = GenerationJob.objects.filter(brand=w.brand_a).first() or GenerationJob.objects.create(
        brand=w.brand_a, channel="headline", prompt="p", prompt_version="brief-v1", uses_base_model=True)
    return job.pk


def _variant_a(w) -> int:
    return Variant.objects.create(brand=w.brand_a, text="Warm socks", content_hash="0" * 64).pk


_BODY = lambda w: {"brief": {"product": "wool socks"}, "n": 1, "async": True}

ROUTES = {
    "brand-generate": RouteCase(kwargs=lambda w: {"brand_id": w.brand_a.pk}, body=_BODY),
    # Scoring stores nothing but its job row: read-like, so viewers may call it (documented in api.py).
    "brand-score": RouteCase(kwargs=lambda w: {"brand_id": w.brand_a.pk},
                             body=lambda w: {"brief": {"product": "wool socks"}, "candidates": ["a"], "async": True},
                             viewer_may=("POST",)),
    "variant-lineage": RouteCase(kwargs=lambda w: {"variant_id": _variant_a(w)}),
    "generation-job-list": RouteCase(hidden_ids=lambda w: {_job_a(w)}),
    "generation-job-detail": RouteCase(kwargs=lambda w: {"pk": _job_a(w)}),
}
