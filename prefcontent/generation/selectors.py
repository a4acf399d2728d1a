"""Reads of generation jobs and of a generated variant's lineage, through the acting principal; and
the worker-side reads that rank best_of candidates (the brand's test evidence, its recent variants)."""
from __future__ import annotations

from datetime import datetime

from django.db.models import Prefetch, QuerySet

from prefcontent.brands.compliance import CompiledRules, check_text
from prefcontent.content.models import Brief, Variant
from prefcontent.core.errors import NotFound
from prefcontent.core.knobs import knob
from prefcontent.core.text import TrigramMatrix, TrigramMatrixCache
from prefcontent.experiments.selectors import variant_outcomes_for_brand
from prefcontent.generation.conf import GenerationSettings
from prefcontent.generation.evidence import EvidenceModel, TestedCopy
from prefcontent.generation.models import GeneratedCandidate, GenerationJob
from prefcontent.tenancy.principal import Principal, scope_to_principal


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
        # Claims its brief's facts contradict or do not support, with the reasons (prefcontent.content.claims).
        "claims": [v for v in (candidate.violations if candidate is not None else []) if v.get("rule") == "claim"],
    }


def recent_generated_texts(*, brand_id: int, limit: int, created_before: datetime | None = None) -> list[str]:
    """The texts of the brand's last `limit` generated variants (created before `created_before` if
    given), newest first. Worker-side, no principal."""
    if limit <= 0:
        return []
    variants = Variant.objects.filter(brand_id=brand_id, source="generated")
    if created_before is not None:
        variants = variants.filter(created_at__lt=created_before)
    return list(variants.order_by("-pk").values_list("text", flat=True)[:limit])


def recent_briefs(*, brand_id: int, limit: int) -> list[tuple[Brief, str, dict]]:
    """(brief, channel, params of its newest job) for the brief and channel pairs the brand's last generation jobs
    wrote for, newest first, each once; at most `limit`. Worker-side, no principal: the gate samples the
    candidate on the briefs the brand serves, as they were served."""
    if limit <= 0:
        return []
    rows = (GenerationJob.objects.filter(brand_id=brand_id, kind=GenerationJob.Kind.GENERATE, brief__isnull=False)
            .order_by("-created_at", "-pk").values_list("brief_id", "channel", "params")[:limit * 20])  # jobs repeat a brief
    newest: dict[tuple[int, str], dict] = {}
    for brief_id, channel, params in rows:
        newest.setdefault((brief_id, channel), params or {})
    keys = list(newest)[:limit]
    briefs = Brief.objects.in_bulk({brief_id for brief_id, _ in keys})
    return [(briefs[key[0]], key[1], newest[key]) for key in keys if key[0] in briefs]


# Trigram matrices of each brand's tested copy and recent variants, kept between the jobs of a generate
# worker: a brand's tested copy changes only when a test ends. Bounded: 2 per brand and channel, 64 by default.
_MATRICES = TrigramMatrixCache(max_entries=2 * knob("GENERATE_SIMILARITY_CACHE_BRANDS", 64))


def similarity_cache_brand_ids() -> set[int]:
    """Brands whose copy this process holds in its trigram matrices."""
    return {key[1] for key in _MATRICES.keys()}  # noqa: SIM118 - a cache, not a dict


def similarity_cache_forget(brand_id: int) -> int:
    """An erased brand's copy leaves this process's trigram matrices."""
    return _MATRICES.forget(lambda key: key[1] == brand_id)


def recent_generated_matrix(*, brand_id: int, limit: int) -> TrigramMatrix:
    """`recent_generated_texts` as a (cached) TrigramMatrix, for best_of's novelty."""
    return _MATRICES.get(("recent", brand_id), recent_generated_texts(brand_id=brand_id, limit=limit))


def brand_test_evidence(*, brand_id: int, rules: CompiledRules, channel: str | None, cfg: GenerationSettings,
                        ended_before: datetime | None = None) -> EvidenceModel:
    """What the brand's finished click tests say, from the variants its current rules allow on `channel`
    (prefcontent.generation.evidence). Worker-side, no principal."""
    outcomes = variant_outcomes_for_brand(brand_id=brand_id, metric="click", limit=cfg.evidence_max_tested,
                                          ended_before=ended_before)
    tested = [TestedCopy(o.text, o.successes, o.trials) for o in outcomes if check_text(rules, o.text, channel).ok]
    matrix = _MATRICES.get(("tested", brand_id, channel), [t.text for t in tested if t.trials > 0])
    return EvidenceModel(tested, cfg.evidence, matrix=matrix)
