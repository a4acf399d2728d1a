"""Worker side of a generation job: claim the row, run the engine, check outputs, store variants.

Runs inside a long-lived generate worker (the engine and warm adapters stay loaded), one job per task
thread: the threads' requests meet in the one engine and decode in shared batches. Every
failure ends the job in `failed` with a stable error code that the API turns into a clear
4xx/503; an adapter that fails its checksum is logged as an error and never replaced by
the base model.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from prefcontent.adapters.base_match import adapter_require_same_base
from prefcontent.adapters.selectors import adapter_local_path
from prefcontent.brands.compliance import CompiledRules, compliance_rules_for
from prefcontent.content.services import variant_create
from prefcontent.core import metrics
from prefcontent.core.errors import DomainError
from prefcontent.generation import facade
from prefcontent.generation.checks import CheckedOutput, check_outputs, claim_guard_for, compliance_mode
from prefcontent.generation.conf import GenerationSettings, generation_settings
from prefcontent.generation.models import GeneratedCandidate, GenerationJob
from prefcontent.generation.ranking import preference_scores, select_best_diverse
from prefcontent.generation.selectors import (
    brand_test_evidence,
    recent_generated_matrix,
    similarity_cache_brand_ids,
    similarity_cache_forget,
)
from prefcontent.generation.sharding import shard_heartbeat_record
from prefcontent.tenancy.principal import SYSTEM

logger = logging.getLogger(__name__)
State = GenerationJob.State
Status = GeneratedCandidate.Status


class _JobLost(Exception):
    """The row left `running` while the worker worked (the reaper failed it); drop the results."""


def _claim(job_id: int, worker: str) -> GenerationJob | None:
    claimed = GenerationJob.objects.filter(pk=job_id, state=State.QUEUED).update(
        state=State.RUNNING, worker=worker[:200], started_at=timezone.now())
    if not claimed:
        return None
    return GenerationJob.objects.select_related("brand", "brief", "adapter_version__run").get(pk=job_id)


def _finish(job: GenerationJob, **fields) -> None:
    updated = GenerationJob.objects.filter(pk=job.pk, state=State.RUNNING).update(finished_at=timezone.now(), **fields)
    if not updated:
        raise _JobLost(f"generation job {job.pk} is no longer running")


def _fail(job: GenerationJob, code: str, message: str) -> None:
    try:
        _finish(job, state=State.FAILED, error_code=code, error_message=message)
    except _JobLost:
        logger.warning("generation job %s failed (%s) after it was reaped", job.pk, code)


def _serving_adapter(job: GenerationJob) -> facade.ServingAdapter | None:
    """The verified adapter chosen at submission, or None for the base model. Raises, never falls back."""
    if job.uses_base_model:
        return None
    adapter = job.adapter_version
    if adapter is None:
        raise DomainError("The adapter version this job was submitted with has been deleted.",
                          code="adapter_missing")
    adapter_require_same_base(adapter, compute=True)  # the serving base, hashed once per worker
    adapter_id = facade.brand_adapter_id(brand_id=adapter.brand_id, version=adapter.version, adapter_pk=adapter.pk)
    key = (settings.MODELS_STORE_URL, adapter.artifact_key, adapter.sha256)
    verified = _VERIFIED.get(key)
    if verified is not None and verified[1] == _signature(verified[0]) and facade.adapter_loaded(adapter_id):
        # The engine holds these weights and re-checks the files whenever it (re)loads them; re-hashing
        # unchanged files (same names, sizes, mtimes) for every job of the brand would only cost CPU.
        path = verified[0]
    else:
        path = adapter_local_path(adapter)  # AdapterArtifactError (503) on a missing or damaged artifact
        _VERIFIED[key] = (path, _signature(path))
    return facade.ServingAdapter(adapter_id=adapter_id, path=path, sha256=adapter.sha256)


_VERIFIED: dict[tuple[str, str, str], tuple] = {}  # (store, artifact key, sha256) -> (local directory, signature)


def _signature(path) -> tuple:
    try:
        return tuple(sorted((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in path.rglob("*") if p.is_file()))
    except OSError:
        return ()


def erased_brands_evict() -> int:
    """Unload the adapters of brands that no longer exist (erased); checked before every job, so every
    worker of a shard drops them, not only the one that takes the erasure's eviction task."""
    from prefcontent.brands.models import Brand

    loaded = facade.loaded_brand_ids()
    cached = similarity_cache_brand_ids()
    if not loaded and not cached:
        return 0
    known = loaded | cached
    gone = known - set(Brand.objects.filter(pk__in=known).values_list("pk", flat=True))
    for brand_id in gone & cached:
        similarity_cache_forget(brand_id)  # its tested and generated copy, held for best_of
    return sum(facade.evict_brand_adapters(brand_id) for brand_id in sorted(gone & loaded))


def generation_job_execute(*, job_id: int, worker: str) -> GenerationJob | None:
    """Run one job; None when another delivery already took it. Never raises for a job-level failure."""
    job = _claim(job_id, worker)
    if job is None:
        logger.info("generation job %s is not queued any more; skipping a duplicate delivery", job_id)
        return None
    erased_brands_evict()
    claimed = time.monotonic()
    metrics.queue_wait_observe(kind=job.kind, sent_at=job.enqueued_at or job.created_at, claimed_at=job.started_at)
    shard_heartbeat_record(shard=job.shard, worker=worker)
    try:
        adapter = _serving_adapter(job)
        if job.kind == GenerationJob.Kind.SCORE:
            _run_score(job, adapter)
        else:
            _run_generate(job, adapter)
    except DomainError as exc:
        logger.error("generation job %s of brand %s failed: %s", job.pk, job.brand_id, exc.message,
                     extra={"error_code": exc.code, "job_id": job.pk})
        _fail(job, exc.code, exc.message)
    except facade.EngineAdapterError as exc:
        logger.error("generation job %s of brand %s: adapter refused: %s", job.pk, job.brand_id, exc,
                     extra={"error_code": exc.code, "job_id": job.pk})
        _fail(job, exc.code, str(exc))
    except facade.EngineInputError as exc:
        _fail(job, "invalid_request", str(exc))
    except facade.BaseModelUnavailable as exc:
        logger.error("generation job %s: %s", job.pk, exc)
        _fail(job, "base_model_unavailable", str(exc))
    except facade.EngineTimeout as exc:
        logger.error("generation job %s of brand %s: %s", job.pk, job.brand_id, exc)
        _fail(job, "generation_timeout", str(exc))
    except (_JobLost, facade.RequestAbandoned):
        logger.warning("generation job %s was reaped while running; its results are dropped", job.pk)
    except Exception:  # the job must end failed, not stay running until the reaper
        logger.exception("generation job %s crashed", job.pk)
        _fail(job, "generation_failed", "Generation failed unexpectedly; the error is in the worker log.")
    job.refresh_from_db()
    metrics.RUN_DURATION_SECONDS.labels(kind=job.kind, outcome=job.state).observe(time.monotonic() - claimed)
    return job


def _timeout() -> float:
    return max(1.0, generation_settings().task_time_limit_s - 15.0)


def _still_wanted(job: GenerationJob):
    """Asked while the job waits in the engine: the row is still ours (not reaped), and the shard's
    heartbeat is renewed, since every task thread of the worker may be waiting and none free for a ping."""
    def check() -> bool:
        now = time.monotonic()
        if now - _LAST_HEARTBEAT.get(job.shard, -1e9) >= facade.WAIT_SLICE_S:  # once per process, not per job
            _LAST_HEARTBEAT[job.shard] = now
            shard_heartbeat_record(shard=job.shard, worker=job.worker)
        return GenerationJob.objects.filter(pk=job.pk, state=State.RUNNING).exists()
    return check


_LAST_HEARTBEAT: dict[int, float] = {}  # shard -> when a waiting job of this process last renewed it


def _run_score(job: GenerationJob, adapter: facade.ServingAdapter | None) -> None:
    if adapter is None:
        raise DomainError("Scoring needs an adapter.", code="no_active_adapter")
    beta = float(job.params["beta"])
    with metrics.GENERATION_LATENCY_SECONDS.labels(kind="score").time():
        scores = facade.score(prompt=job.prompt, candidates=job.texts_to_score, adapter=adapter, beta=beta,
                              timeout=_timeout(), still_wanted=_still_wanted(job))
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    ranked = [{"index": i, "text": job.texts_to_score[i], "score": scores[i], "rank": rank}
              for rank, i in enumerate(order, start=1)]
    _finish(job, state=State.SUCCEEDED, model_id=facade.model_id(), engine=facade.ENGINE_NAME,
            result={"beta": beta, "scores": ranked})


def _provenance(job: GenerationJob, generation: facade.Generation, index: int, score: float | None,
                evidence_rate: float | None, violations: list[dict]) -> dict:
    adapter = job.adapter_version
    return {
        "generation_job_id": job.pk,
        "adapter_version_id": adapter.pk if adapter else "base",
        "adapter": None if adapter is None else {
            "id": adapter.pk, "version": adapter.version, "sha256": adapter.sha256,
            "artifact_key": adapter.artifact_key, "base_model_id": adapter.base_model_id,
            "training_run_id": adapter.run_id, "snapshot_id": adapter.snapshot_id,
        },
        "model_id": generation.model_id,
        "engine": generation.engine,
        "seed": generation.seed,
        "sequence_index": index,
        "finish_reason": generation.completions[index].finish_reason,  # "stop" / "newline": the copy ended itself
        "params": job.params,
        "prompt_version": job.prompt_version,
        "channel": job.channel,
        "score": score,
        "evidence_rate": evidence_rate,  # the rate the brand's tests give copy like this (best_of only)
        "compliance": {"mode": compliance_mode(job.brand), "violations": violations},
    }


@dataclass
class _Ranking:
    order: list[int]  # positions in the usable candidates, in serving order
    rewards: dict[int, float]  # sequence index -> the adapter's implicit reward
    evidence: dict[int, float]  # sequence index -> the rate the brand's tests give copy like it
    summary: dict  # how it ranked, kept in the job's result


def _rank(job: GenerationJob, usable: list[CheckedOutput], adapter: facade.ServingAdapter | None,
          rules: CompiledRules, cfg: GenerationSettings) -> _Ranking:
    """best_of: the adapter's reward plus the brand's test evidence, kept apart (prefcontent.generation.ranking)."""
    texts = [c.text for c in usable]
    rewards = facade.score(prompt=job.prompt, candidates=texts, adapter=adapter, beta=float(job.params["beta"]),
                           timeout=_timeout(), still_wanted=_still_wanted(job))
    model = brand_test_evidence(brand_id=job.brand_id, rules=rules, channel=job.channel, cfg=cfg)
    rates = model.predict_many(texts)
    combined = preference_scores(rewards, [model.standardized_rate(r) for r in rates],
                                 evidence_weight=cfg.best_of_evidence_weight)
    seen = recent_generated_matrix(brand_id=job.brand_id, limit=cfg.best_of_novelty_window)
    return _Ranking(
        order=select_best_diverse(texts, combined, job.params["n"], diversity=cfg.best_of_diversity, seen=seen),
        rewards={c.index: r for c, r in zip(usable, rewards)},
        evidence={c.index: r for c, r in zip(usable, rates)},
        summary={"diversity": cfg.best_of_diversity, "evidence_weight": cfg.best_of_evidence_weight,
                 "tested_variants": len(model.tested), "mean_rate": round(model.mean_rate, 6),
                 "novelty_window": len(seen)},
    )


def _run_generate(job: GenerationJob, adapter: facade.ServingAdapter | None) -> None:
    cfg = generation_settings()
    params = job.params
    best_of = params.get("best_of")
    with metrics.GENERATION_LATENCY_SECONDS.labels(kind="generate").time():
        generation = facade.generate(
            prompt=job.prompt, adapter=adapter, n=best_of or params["n"], temperature=params["temperature"],
            top_p=params["top_p"], max_new_tokens=params["max_new_tokens"], seed=params.get("seed"),
            timeout=_timeout(), channel=job.channel, still_wanted=_still_wanted(job),
        )
    rules = compliance_rules_for(job.brand)
    checked = check_outputs([(c.index, c.text) for c in generation.completions], rules=rules,
                            channel=job.channel, mode=compliance_mode(job.brand), dedup_threshold=cfg.dedup_threshold,
                            prompt=job.prompt, claims=claim_guard_for(job.brand, job.brief))
    usable = [c for c in checked if c.usable]
    ranking = _rank(job, usable, adapter, rules, cfg) if best_of and usable else None
    if ranking is not None:
        usable = [usable[i] for i in ranking.order]
    scores = ranking.rewards if ranking else {}
    evidence = ranking.evidence if ranking else {}
    selected = {c.index: rank for rank, c in enumerate(usable[: params["n"]], start=1)}
    by_index = {c.index: c for c in generation.completions}
    with transaction.atomic():
        rows = []
        for out in checked:
            completion = by_index[out.index]
            status = out.status if out.index in selected or not out.usable else Status.NOT_SELECTED
            variant = None
            if out.index in selected:
                variant = variant_create(
                    principal=SYSTEM, brand=job.brand, text=out.text, source="generated", brief=job.brief,
                    provenance=_provenance(job, generation, out.index, scores.get(out.index), evidence.get(out.index),
                                           out.violations),
                    adapter_version_id=job.adapter_version_id,
                )
            rows.append(GeneratedCandidate(
                job=job, index=out.index, text=out.text, status=status, variant=variant, violations=out.violations,
                duplicate_of=out.duplicate_of, similarity=out.similarity, logprob=completion.logprob,
                token_count=completion.token_count, finish_reason=completion.finish_reason, score=scores.get(out.index), rank=selected.get(out.index),
            ))
        GeneratedCandidate.objects.bulk_create(rows)
        counts = {status: sum(1 for r in rows if r.status == status) for status in Status.values}
        _finish(job, state=State.SUCCEEDED, model_id=generation.model_id, engine=generation.engine,
                seed=generation.seed, result={"requested": params["n"], "sampled": len(rows),
                                              "stored": len(selected), "counts": counts,
                                              "ranking": ranking.summary if ranking else None})
