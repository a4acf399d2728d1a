"""Reads of generation jobs and of a generated variant's lineage, always through the acting principal."""
from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from prefcontent.content.models import Variant
from prefcontent.core.errors import NotFound
from prefcontent.core.principal import Principal, scope_to_principal
from prefcontent.generation.models import GeneratedCandidate, GenerationJob


def generation_job_list(*, principal: Principal) -> QuerySet[GenerationJob]:
    candidates = Prefetch("candidates", queryset=GeneratedCandidate.objects.order_by("rank", "index"))
    return (scope_to_principal(GenerationJob.objects.all(), principal)
            .select_related("adapter_version").prefetch_related(candidates))


def generation_job_get(*, principal: Principal, job_id) -> GenerationJob:
    try:
        job = generation_job_list(principal=principal).filter(pk=int(job_id)).first()
    except (TypeError, ValueError):
        job = None
    if job is None:
        raise NotFound("Generation job not found.")
    return job


def variant_lineage(variant: Variant) -> dict:
    """Where a variant came from: job, adapter (or base model), training run, dataset snapshot, experiments."""
    candidate = (GeneratedCandidate.objects.select_related("job__adapter_version__snapshot")
                 .filter(variant=variant).first())
    job = candidate.job if candidate is not None else None
    adapter = job.adapter_version if job is not None else None
    snapshot = adapter.snapshot if adapter is not None else None
    return {
        "variant_id": variant.pk,
        "generated": job is not None,
        "generation_job_id": job.pk if job else None,
        "base_model": job.uses_base_model if job else None,
        "model_id": job.model_id if job else None,
        "adapter_version_id": adapter.pk if adapter else None,
        "adapter_version": adapter.version if adapter else None,
        "training_run_id": adapter.run_id if adapter else None,
        "snapshot_id": snapshot.pk if snapshot else None,
        "snapshot_content_hash": snapshot.content_hash if snapshot else None,
        "experiment_ids": list(snapshot.source_experiment_ids) if snapshot else [],
    }


def recent_generated_texts(*, brand_id: int, limit: int) -> list[str]:
    """The texts of the brand's last `limit` generated variants, newest first (worker-side, no principal)."""
    if limit <= 0:
        return []
    return list(Variant.objects.filter(brand_id=brand_id, source="generated").order_by("-pk")
                .values_list("text", flat=True)[:limit])
