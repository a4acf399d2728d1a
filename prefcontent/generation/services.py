"""Web-side writes of generation: submit a generate or score job, enqueue it on its shard, wait, reap.

The worker side (claim, run the engine, check outputs, store variants) lives in `execution`.
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from prefcontent.accounts.services import audit_record
from prefcontent.adapters.base_match import adapter_require_same_base
from prefcontent.adapters.models import AdapterVersion
from prefcontent.adapters.selectors import adapter_active_for
from prefcontent.content.models import CHANNELS, Brief
from prefcontent.content.services import brief_facts_clean
from prefcontent.core.errors import InvalidInput, InvalidState, NotFound, ServiceUnavailable
from prefcontent.core.queue import enqueue
from prefcontent.generation import facade
from prefcontent.generation.conf import generation_settings
from prefcontent.generation.models import GenerationJob
from prefcontent.generation.sharding import (
    live_shards,
    rendezvous_shard,
    shard_for_brand,
    shard_queue,
)
from prefcontent.preferences.prompting import prompt_version, render_prompt
from prefcontent.tenancy import access
from prefcontent.tenancy.principal import Principal

logger = logging.getLogger(__name__)
State = GenerationJob.State
RUN_JOB_TASK = "generation.run_job"
DEFAULT_BETA = 0.1  # TrainConfig's default; used when the adapter's run did not record one
BRIEF_PROMPT_FIELDS = ("product", "audience", "tone")  # what render_prompt reads from a brief


@dataclass(frozen=True)
class SamplingParams:
    """Client sampling parameters of a generate request (types already validated by the API)."""

    n: int = 4  # variants wanted
    temperature: float = 0.9  # 0 means greedy
    top_p: float = 0.95  # nucleus mass
    max_new_tokens: int = 48  # completion budget
    seed: int | None = None  # fixed seed for reproducible output; None lets the engine draw one
    best_of: int | None = None  # sample this many, keep the n the adapter scores best


def sampling_params(**given) -> SamplingParams:
    """SamplingParams from the given (non-None) values; an omitted budget never exceeds the configured cap."""
    values = {k: v for k, v in given.items() if v is not None}
    values.setdefault("max_new_tokens", min(SamplingParams.max_new_tokens, generation_settings().max_new_tokens))
    return SamplingParams(**values)


def _requested_by(principal: Principal) -> dict:
    return {"requested_by_user_id": principal.user_id, "requested_by_api_key_id": principal.api_key_id}


def generation_channel(*, brief: Brief | None, channel: str | None) -> str:
    """The explicit channel, else the brief's campaign channel, else "headline"."""
    chosen = channel or (brief.campaign.channel if brief is not None and brief.campaign_id else "") or "headline"
    if chosen not in CHANNELS:
        raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}.", code="invalid_channel")
    return chosen


def _check_brief_of(brand, brief: Brief) -> None:
    if brief.pk is not None and brief.brand_id != brand.pk:
        raise NotFound("Brief not found.")


def check_brief_not_empty(brief: Brief) -> None:
    if not any((getattr(brief, name) or "").strip() for name in BRIEF_PROMPT_FIELDS):
        raise InvalidInput("The brief is empty: give at least a product, an audience or a tone.",
                           code="empty_brief", details={"fields": list(BRIEF_PROMPT_FIELDS)})


def check_sampling_caps(params: SamplingParams) -> None:
    cfg = generation_settings()
    if params.n > cfg.max_n:
        raise InvalidInput(f"n={params.n} is above the cap of {cfg.max_n}.", code="n_above_cap",
                           details={"n": params.n, "cap": cfg.max_n})
    if params.max_new_tokens > cfg.max_new_tokens:
        raise InvalidInput(f"max_new_tokens={params.max_new_tokens} is above the cap of {cfg.max_new_tokens}.",
                           code="max_new_tokens_above_cap",
                           details={"max_new_tokens": params.max_new_tokens, "cap": cfg.max_new_tokens})
    if params.best_of is not None:
        if params.best_of < params.n:
            raise InvalidInput("best_of must be at least n.", code="best_of_below_n",
                               details={"n": params.n, "best_of": params.best_of})
        if params.best_of > cfg.max_n:
            raise InvalidInput(f"best_of={params.best_of} is above the cap of {cfg.max_n}.",
                               code="best_of_above_cap", details={"best_of": params.best_of, "cap": cfg.max_n})


def adapter_beta(adapter: AdapterVersion) -> float:
    """The DPO beta the adapter was trained with: its implicit reward is beta times the log-ratio."""
    run = adapter.run
    beta = (run.hyperparameters or {}).get("beta") if run is not None else None
    return float(beta) if isinstance(beta, (int, float)) and beta > 0 else DEFAULT_BETA


def _new_job(*, principal: Principal, brand, brief: Brief, channel: str, kind: str, params: dict,
             adapter: AdapterVersion | None, texts: list[str] | None = None, enqueue: bool = True) -> GenerationJob:
    job = GenerationJob.objects.create(
        brand=brand, brief=brief if brief.pk else None, kind=kind, channel=channel,
        prompt=render_prompt(brand=brand, brief=brief, channel=channel), prompt_version=prompt_version(),
        params=params, texts_to_score=texts or [], adapter_version=adapter, uses_base_model=adapter is None,
        model_id=facade.model_id(), shard=shard_for_brand(brand.pk), **_requested_by(principal),
    )
    audit_record(principal=principal, organization_id=brand.organization_id, brand_id=brand.pk,
                 action=f"generation.{kind}", target=job,
                 data={"adapter_version_id": adapter.pk if adapter else None, **params})
    if enqueue:
        transaction.on_commit(lambda: generation_job_enqueue(job_id=job.pk))
    return job


@transaction.atomic
def generation_job_create(*, principal: Principal, brand, brief: Brief, channel: str | None,
                          params: SamplingParams, enqueue: bool = True, use_base_model: bool = False) -> GenerationJob:
    """Queue a generate job with the brand's active adapter (or the base model when it has none).

    `brief` may be unsaved (an inline brief): it is stored first so variants can point at it.
    `enqueue=False` leaves running it to the caller (`manage.py generate` runs it in-process).
    `use_base_model=True` generates with the base model even when the brand has an active adapter
    (to compare the two side by side).
    """
    access.brand_require(principal, brand, "generate")
    _check_brief_of(brand, brief)
    check_brief_not_empty(brief)
    check_sampling_caps(params)
    channel = generation_channel(brief=brief, channel=channel)
    adapter = None if use_base_model else adapter_active_for(brand)
    if adapter is not None:  # 409 rather than a job that fails on the worker (which checks again)
        adapter_require_same_base(adapter, action="served (generate with use_base_model, or retrain)")
    if params.best_of is not None and adapter is None:
        raise InvalidState("best_of ranks candidates by the brand adapter's preference score; this brand has no "
                           "active adapter.", code="no_active_adapter")
    if brief.pk is None:
        brief.brand = brand
        brief.locale = brief.locale or brand.locale
        brief.facts = brief_facts_clean(brief.facts or {})  # an inline brief's facts, checked as a stored one's
        brief.save()
    values = asdict(params)
    if params.best_of is not None:
        values["beta"] = adapter_beta(adapter)
    return _new_job(principal=principal, brand=brand, brief=brief, channel=channel, kind=GenerationJob.Kind.GENERATE,
                    params=values, adapter=adapter, enqueue=enqueue)


@transaction.atomic
def generation_score_create(*, principal: Principal, brand, brief: Brief, channel: str | None,
                            texts: list[str]) -> GenerationJob:
    """Queue a score job: the active adapter's implicit DPO reward of each text for the brief's prompt."""
    access.brand_require(principal, brand, "score")
    cfg = generation_settings()
    _check_brief_of(brand, brief)
    check_brief_not_empty(brief)
    if not texts:
        raise InvalidInput("Give at least one candidate text to score.", code="no_candidates")
    if len(texts) > cfg.max_candidates:
        raise InvalidInput(f"At most {cfg.max_candidates} candidates per request.", code="too_many_candidates",
                           details={"count": len(texts), "cap": cfg.max_candidates})
    if any(not t.strip() for t in texts):
        raise InvalidInput("Candidate texts must not be empty.", code="empty_candidate")
    if any(len(t) > cfg.max_candidate_chars for t in texts):
        raise InvalidInput(f"A candidate is longer than {cfg.max_candidate_chars} characters.",
                           code="candidate_too_long", details={"cap": cfg.max_candidate_chars})
    channel = generation_channel(brief=brief, channel=channel)
    adapter = adapter_active_for(brand)
    if adapter is None:
        raise InvalidState("This brand has no active adapter: there is no preference score to compute "
                           "(the base model scored against itself is 0).", code="no_active_adapter")
    adapter_require_same_base(adapter, action="used to score (retrain it on this base)")
    return _new_job(principal=principal, brand=brand, brief=brief, channel=channel, kind=GenerationJob.Kind.SCORE,
                    params={"beta": adapter_beta(adapter)}, adapter=adapter, texts=texts)


def generation_job_enqueue(*, job_id: int) -> bool:
    """Send the job to its shard's queue; False (job stays queued for the reaper) when the broker is down."""
    job = GenerationJob.objects.filter(pk=job_id, state=State.QUEUED).only("shard").first()
    if job is None or not enqueue(RUN_JOB_TASK, args=[job_id], queue=shard_queue(job.shard)):
        return False  # the row is the truth: the reaper re-sends what the broker never got
    GenerationJob.objects.filter(pk=job_id, enqueued_at__isnull=True).update(enqueued_at=timezone.now())
    return True


def generation_job_wait(*, job: GenerationJob, timeout_s: float) -> GenerationJob:
    """Poll the row until the job is done or `timeout_s` passes; returns the refreshed job either way.

    Inside an open transaction the row is not committed, so no worker can have seen it:
    waiting would only burn the timeout, and the caller answers with the job to poll.
    """
    if connection.in_atomic_block:
        return job
    deadline = time.monotonic() + timeout_s
    pause = 0.02
    while True:
        job.refresh_from_db()
        if job.is_done or time.monotonic() >= deadline:
            return job
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 1.5, 0.25)


_FAILURE_STATUS = {
    "invalid_request": InvalidInput,
    "no_active_adapter": InvalidState,
}


def generation_job_raise_failure(job: GenerationJob) -> None:
    """Turn a failed job into the domain error the API answers with (4xx for bad input, 503 otherwise)."""
    if job.state != State.FAILED:
        return
    error = _FAILURE_STATUS.get(job.error_code, ServiceUnavailable)
    raise error(job.error_message or "Generation failed.", code=job.error_code or "generation_failed",
                details={"job_id": job.pk})


def generation_jobs_reap(*, now=None) -> dict[str, int]:
    """Fail jobs whose worker vanished; move queued jobs off shards that are gone; fail never-served ones."""
    cfg = generation_settings()
    now = now or timezone.now()
    stale = now - timedelta(seconds=cfg.stale_after_s)
    lost = GenerationJob.objects.filter(state=State.RUNNING, started_at__lt=stale).update(
        state=State.FAILED, error_code="worker_lost", finished_at=now,
        error_message="The worker running this job stopped answering; submit it again.")
    unserved = GenerationJob.objects.filter(state=State.QUEUED, created_at__lt=stale).update(
        state=State.FAILED, error_code="not_served", finished_at=now,
        error_message="No generate worker picked this job up in time.")
    moved = 0
    live = live_shards(now=now)
    waiting = GenerationJob.objects.filter(state=State.QUEUED,
                                           created_at__lt=now - timedelta(seconds=cfg.requeue_after_s))
    for job_id, brand_id, shard, enqueued_at in waiting.values_list("pk", "brand_id", "shard", "enqueued_at"):
        target = rendezvous_shard(brand_id, live)
        if enqueued_at is not None and shard in live:
            continue  # its shard is alive, just busy
        if GenerationJob.objects.filter(pk=job_id, state=State.QUEUED, shard=shard).update(shard=target):
            moved += generation_job_enqueue(job_id=job_id)
    if lost or unserved or moved:
        logger.warning("generation reaper: %s lost, %s unserved, %s re-sent", lost, unserved, moved)
    return {"lost": lost, "unserved": unserved, "requeued": moved}
