from datetime import timedelta

import pytest
from django.utils import timezone

from prefcontent.generation.models import GenerationShard
from prefcontent.generation.sharding import (
    live_shards,
    rendezvous_shard,
    shard_for_brand,
    shard_heartbeat_record,
    shard_queue,
)

BRANDS = range(1, 601)


def test_shard_queue_names():
    assert shard_queue(0) == "generate"
    assert shard_queue(3) == "generate.3"


def test_mapping_is_stable_and_ignores_shard_order():
    first = {b: rendezvous_shard(b, [0, 1, 2, 3]) for b in BRANDS}
    assert first == {b: rendezvous_shard(b, [3, 1, 0, 2, 2]) for b in BRANDS}


def test_brands_spread_over_all_shards():
    counts = {s: 0 for s in range(4)}
    for b in BRANDS:
        counts[rendezvous_shard(b, range(4))] += 1
    assert min(counts.values()) > len(BRANDS) / 4 * 0.7, counts


def test_when_a_shard_disappears_only_its_brands_move_and_they_return():
    before = {b: rendezvous_shard(b, [0, 1, 2, 3]) for b in BRANDS}
    after = {b: rendezvous_shard(b, [0, 1, 3]) for b in BRANDS}
    moved = {b for b in BRANDS if before[b] != after[b]}
    assert moved == {b for b in BRANDS if before[b] == 2}
    assert all(after[b] in (0, 1, 3) for b in moved)
    assert {b: rendezvous_shard(b, [0, 1, 2, 3]) for b in BRANDS} == before


def test_a_new_shard_takes_brands_only_from_others_onto_itself():
    before = {b: rendezvous_shard(b, [0, 1]) for b in BRANDS}
    after = {b: rendezvous_shard(b, [0, 1, 2]) for b in BRANDS}
    assert all(after[b] in (before[b], 2) for b in BRANDS)
    assert any(after[b] == 2 for b in BRANDS)


def test_no_shard_is_an_error():
    with pytest.raises(ValueError):
        rendezvous_shard(1, [])


@pytest.mark.django_db
def test_live_shards_are_those_with_a_recent_heartbeat(settings):
    settings.GENERATE_SHARDS = 3
    settings.GENERATE_SHARD_TTL_S = 60
    now = timezone.now()
    assert live_shards(now=now) == [0, 1, 2]  # nobody answered yet: every configured shard
    shard_heartbeat_record(shard=0, worker="w0", now=now)
    shard_heartbeat_record(shard=1, worker="w1", now=now - timedelta(seconds=120))
    shard_heartbeat_record(shard=2, worker="w2", now=now - timedelta(seconds=10))
    GenerationShard.objects.create(shard=7, last_seen_at=now)  # not configured any more
    assert live_shards(now=now) == [0, 2]


@pytest.mark.django_db
def test_a_brand_moves_off_a_dead_shard(settings):
    settings.GENERATE_SHARDS = 2
    settings.GENERATE_SHARD_TTL_S = 60
    now = timezone.now()
    brand = next(b for b in BRANDS if rendezvous_shard(b, [0, 1]) == 1)
    shard_heartbeat_record(shard=0, now=now)
    shard_heartbeat_record(shard=1, now=now)
    assert shard_for_brand(brand, now=now) == 1
    assert shard_for_brand(brand, now=now + timedelta(seconds=61)) == 1  # both stale: every configured shard
    shard_heartbeat_record(shard=0, now=now + timedelta(seconds=61))
    assert shard_for_brand(brand, now=now + timedelta(seconds=62)) == 0
    shard_heartbeat_record(shard=1, now=now + timedelta(seconds=63))
    assert shard_for_brand(brand, now=now + timedelta(seconds=64)) == 1


@pytest.mark.django_db
def test_one_configured_shard_serves_everything(settings):
    settings.GENERATE_SHARDS = 1
    assert live_shards() == [0]
    assert {shard_for_brand(b) for b in range(1, 50)} == {0}
