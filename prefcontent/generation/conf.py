"""Generation knobs: Django settings first, then the environment, then the product default.

Read through prefcontent.core.knobs (settings, then the environment, then the default).
"""
from __future__ import annotations

from dataclasses import dataclass

from prefcontent.core.knobs import knob
from prefcontent.core.text import NEAR_DUPLICATE_SIMILARITY
from prefcontent.generation.evidence import EvidenceSettings


@dataclass(frozen=True)
class GenerationSettings:
    """Limits and timings of generation and scoring."""

    shards: int  # generate-queue shards: "generate" (0), "generate.1", ...
    shard_ttl_s: float  # a shard that has not answered a heartbeat (beat pings every 30 s) for this long is gone
    sync_timeout_s: float  # the API waits this long before answering with a job to poll
    sync_max_n: int  # larger requests are always asynchronous jobs
    max_n: int  # most completions per request (best_of included)
    max_new_tokens: int  # largest completion budget
    max_candidates: int  # most texts per score request
    max_candidate_chars: int  # longest text to score
    dedup_threshold: float  # trigram similarity at which two outputs are near duplicates (prefcontent.core.text)
    best_of_diversity: float  # best_of serves high scorers that differ: sds of score a full repeat costs (0: top-n)
    best_of_evidence_weight: float  # best_of ranks by adapter reward + this x the brand's test evidence (0: reward only)
    best_of_novelty_window: int  # best_of also keeps apart from the brand's last this many generated variants
    evidence_max_tested: int  # most tested variants (the most recently tested) the evidence reads
    evidence: EvidenceSettings  # how the evidence pools tested copy (prefcontent.generation.evidence)
    device: str  # torch device of the engine: "auto" (cuda when the worker has a GPU), "cpu", "cuda:1", ...
    dtype: str  # torch dtype name of the base model weights in the engine; "auto": bfloat16 on a GPU, else float32
    adapter_cache_size: int  # most brand adapters the engine keeps loaded (LRU)
    adapter_cache_bytes: int  # most adapter weight bytes the engine keeps loaded
    task_time_limit_s: int  # hard Celery limit of one job execution
    requeue_after_s: float  # a queued job older than this on a dead shard is sent to a live one
    stale_after_s: float  # a running job older than this lost its worker and is failed


def generation_settings() -> GenerationSettings:
    return GenerationSettings(
        shards=max(1, knob("GENERATE_SHARDS", 1)),
        shard_ttl_s=knob("GENERATE_SHARD_TTL_S", 90.0),
        sync_timeout_s=knob("GENERATE_SYNC_TIMEOUT_S", 30.0),
        sync_max_n=knob("GENERATE_SYNC_MAX_N", 8),
        max_n=knob("GENERATE_MAX_N", 32),
        max_new_tokens=knob("GENERATE_MAX_NEW_TOKENS", 64),
        max_candidates=knob("GENERATE_MAX_SCORE_CANDIDATES", 32),
        max_candidate_chars=knob("GENERATE_MAX_CANDIDATE_CHARS", 2000),
        dedup_threshold=knob("GENERATE_DEDUP_THRESHOLD", NEAR_DUPLICATE_SIMILARITY),
        best_of_diversity=knob("GENERATE_BEST_OF_DIVERSITY", 3.0),
        best_of_evidence_weight=knob("GENERATE_BEST_OF_EVIDENCE_WEIGHT", 1.0),
        best_of_novelty_window=knob("GENERATE_BEST_OF_NOVELTY_WINDOW", 500),
        evidence_max_tested=knob("GENERATE_EVIDENCE_MAX_TESTED", 2000),
        evidence=EvidenceSettings(neighbours=knob("GENERATE_EVIDENCE_NEIGHBOURS", 20),
                                  sharpness=knob("GENERATE_EVIDENCE_SHARPNESS", 4.0),
                                  prior_trials=knob("GENERATE_EVIDENCE_PRIOR_TRIALS", 2000.0)),
        device=knob("GENERATE_DEVICE", "auto"),
        dtype=knob("GENERATE_DTYPE", "auto"),
        adapter_cache_size=max(1, knob("GENERATE_ADAPTER_CACHE_SIZE", 16)),
        adapter_cache_bytes=max(1, knob("GENERATE_ADAPTER_CACHE_BYTES", 1 << 30)),
        task_time_limit_s=knob("GENERATE_TASK_TIME_LIMIT", 300),
        requeue_after_s=knob("GENERATE_REQUEUE_AFTER_S", 120.0),
        stale_after_s=knob("GENERATE_STALE_AFTER_S", 900.0),
    )
