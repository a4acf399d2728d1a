"""Concurrent retries of the same batch: every event counted exactly once (PostgreSQL)."""
import random

import pytest
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from prefcontent.experiments.ingestion import events_ingest
from prefcontent.experiments.models import Arm, Event
from prefcontent.tenancy.principal import principal_for_api_key
from tests.concurrently import run_together
from tests.factories import ApiKeyFactory, BrandFactory
from tests.prefcontent.experiments.factories import make_experiment

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_duplicate_batches_count_each_event_once():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises them anyway)")
    brand = BrandFactory()
    ApiKeyFactory.issue(brand=brand)
    principal = principal_for_api_key(brand.api_keys.get())
    experiment = make_experiment(brand, arms=3)
    arms = list(experiment.arms.order_by("id"))
    now = timezone.now().isoformat()
    rng = random.Random(1)
    events = [{"event_id": f"ev-{i}", "experiment": experiment.pk, "arm": rng.choice(arms).pk,
               "type": rng.choice(["impression", "impression", "click", "conversion"]), "unit_id": f"u{i % 97}",
               "timestamp": now} for i in range(600)]
    # Eight clients retry overlapping slices of the same stream, in different orders, at the same moment.
    batches = []
    for t in range(8):
        chunk = events[(t % 4) * 100:(t % 4) * 100 + 300]
        batches.append(list(reversed(chunk)) if t % 2 else chunk)
    results = run_together(lambda batch: events_ingest(principal=principal, events=batch), batches)
    for batch, result in zip(batches, results, strict=True):
        assert result.accepted + len(result.duplicates) == len(batch) and not result.rejected
    accepted = [r.accepted for r in results]
    assert sum(accepted) == len(events) == Event.objects.count()
    expected = {}
    for e in events:
        expected[(e["arm"], e["type"])] = expected.get((e["arm"], e["type"]), 0) + 1
    stored = {(r["arm_id"], r["type"]): r["n"] for r in Event.objects.values("arm_id", "type").annotate(n=Count("id"))}
    assert stored == expected
    for arm in Arm.objects.filter(experiment=experiment):
        assert (arm.impressions, arm.clicks, arm.conversions) == tuple(
            expected.get((arm.pk, t), 0) for t in ("impression", "click", "conversion"))
