from prefcontent.content.models import Variant
from prefcontent.generation.models import GenerationJob
from tests.tenancy import RouteCase, ServiceCase


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


def _brief_of_a(w):
    from prefcontent.content.models import Brief

    return Brief(brand=w.brand_a, title="Socks", product="wool socks")


def _with_active_adapter(w):
    from pathlib import Path

    from django.conf import settings

    from tests.prefcontent.adapters.factories import make_adapter

    if "active-adapter" not in w.extra:
        w.extra["active-adapter"] = make_adapter(w.brand_a, version=1, status="active",
                                                 tmp_path=Path(settings.MODELS_STORE_URL).parent / "adapter-src")
    return w.brand_a


def _generate_args(w):
    from prefcontent.generation.services import sampling_params

    return {"brand": w.brand_a, "brief": _brief_of_a(w), "channel": "headline", "params": sampling_params(n=1),
            "enqueue": False}


_SERVICES = "prefcontent.generation.services."
SERVICES = {
    _SERVICES + "generation_job_create": ServiceCase("generate", _generate_args),
    _SERVICES + "generation_score_create": ServiceCase("score", lambda w: {
        "brand": _with_active_adapter(w), "brief": _brief_of_a(w), "channel": "headline", "texts": ["Warm socks"]}),
}
UNCHECKED = {
    _SERVICES + "sampling_params": "pure: builds SamplingParams",
    _SERVICES + "generation_channel": "pure: picks the channel",
    _SERVICES + "check_brief_not_empty": "pure: validates a brief",
    _SERVICES + "check_sampling_caps": "pure: validates sampling parameters",
    _SERVICES + "adapter_beta": "pure: reads the adapter's training beta",
    _SERVICES + "generation_job_enqueue": "sends a job the checked create (or the reaper) stored",
    _SERVICES + "generation_job_wait": "a read: polls a job its caller holds",
    _SERVICES + "generation_job_raise_failure": "pure: maps a failed job to its error",
    _SERVICES + "generation_jobs_reap": "beat: fails lost jobs and re-sends unserved ones",
}
