"""Which generate-queue shard serves a brand: rendezvous hashing over the live shards.

Each shard is one long-lived worker (group) consuming the queue "generate" (shard 0) or
"generate.<k>". A brand always goes to the live shard with the highest hash of (brand, shard),
so its adapter stays warm there; when a shard disappears only the brands it owned move, and
they come back when it returns. A shard is live while it answers the heartbeat ping
(`SHARD_HEARTBEAT_TASK`) within the TTL.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import timedelta

from django.utils import timezone

from prefcontent.core.queue import enqueue
from prefcontent.generation.conf import generation_settings
from prefcontent.generation.models import GenerationShard

BASE_QUEUE = "generate"
SHARD_HEARTBEAT_TASK = "generation.shard_heartbeat"
EVICT_BRAND_TASK = "generation.evict_brand"


def shard_queue(shard: int) -> str:
    """The Celery queue of a shard: "generate" for 0, so the one-worker default needs no extra queue."""
    return BASE_QUEUE if shard == 0 else f"{BASE_QUEUE}.{shard}"


def _weight(brand_id: int, shard: int) -> int:
    digest = hashlib.blake2b(f"{brand_id}:{shard}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def rendezvous_shard(brand_id: int, shards: Iterable[int]) -> int:
    """The shard among `shards` with the highest (brand, shard) weight; ties cannot depend on order."""
    candidates = sorted(set(shards))
    if not candidates:
        raise ValueError("no shard to choose from")
    return max(candidates, key=lambda shard: (_weight(brand_id, shard), -shard))


def live_shards(*, now=None) -> list[int]:
    """Configured shards that answered a heartbeat within the TTL; all configured ones if none did.

    Falling back to every shard keeps requests queueing (for the worker that will come up)
    instead of failing while the fleet starts or the beat is late.
    """
    cfg = generation_settings()
    configured = range(cfg.shards)
    if cfg.shards == 1:
        return [0]
    since = (now or timezone.now()) - timedelta(seconds=cfg.shard_ttl_s)
    seen = set(GenerationShard.objects.filter(shard__in=list(configured), last_seen_at__gte=since)
               .values_list("shard", flat=True))
    return sorted(seen) or list(configured)


def shard_for_brand(brand_id: int, *, now=None) -> int:
    return rendezvous_shard(brand_id, live_shards(now=now))


def shard_heartbeat_record(*, shard: int, worker: str = "", now=None) -> None:
    """Mark `shard` live (called by its worker when it answers a ping or runs a job)."""
    GenerationShard.objects.update_or_create(
        shard=shard, defaults={"last_seen_at": now or timezone.now(), "worker": worker[:200]})


def brand_evict_everywhere(*, brand_id: int) -> int:
    """Ask every generate shard to unload an erased brand's adapters; how many shard queues were sent to.
    (The other workers of a shard group drop them before their next job: execution.erased_brands_evict.)"""
    cfg = generation_settings()
    for shard in range(cfg.shards):
        enqueue(EVICT_BRAND_TASK, args=[brand_id], queue=shard_queue(shard), expires=cfg.shard_ttl_s)
    return cfg.shards


def shards_ping() -> int:
    """Send a heartbeat ping to every shard queue; a ping nobody takes within the TTL expires unanswered."""
    cfg = generation_settings()
    for shard in range(cfg.shards):
        enqueue(SHARD_HEARTBEAT_TASK, args=[shard], queue=shard_queue(shard), expires=cfg.shard_ttl_s)
    return cfg.shards
