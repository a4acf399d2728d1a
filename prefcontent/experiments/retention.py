"""Event retention: the raw events of ended experiments go after the brand's `event_retention_days`.

What a decision or a page needs outlives them: the arms' counters, the hourly roll-ups (ArmHour),
the decision's evidence, and the readers the lift report counts (frozen first, lift_frozen.py). The
per-reader rows (Reader) go with the events: they only serve to count readers while events arrive,
and they hold unit hashes. Deletes run in bounded batches, each its own transaction, so the sweep
never holds a long lock or a huge transaction. On PostgreSQL a day partition whose events all belong
to expired experiments is dropped whole first (partitions.py): no delete, nothing for VACUUM.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from prefcontent.brands.models import Brand
from prefcontent.brands.settings import brand_settings
from prefcontent.experiments.lift_frozen import lift_clusters_freeze
from prefcontent.experiments.models import CONCLUDED, STOPPED, Event, Experiment, Reader
from prefcontent.experiments.partitions import events_partitions_drop_expired

DELETE_BATCH = 10_000


def _drop(model, experiment_id: int) -> int:
    dropped = 0
    while True:
        with transaction.atomic():
            ids = list(model.objects.filter(experiment_id=experiment_id).values_list("id", flat=True)[:DELETE_BATCH])
            if not ids:
                return dropped
            dropped += model.objects.filter(pk__in=ids).delete()[0]


def events_retention_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Drop the events and reader rows of experiments that ended more than their brand's retention window
    ago (a system task: no principal). Counts of experiments swept, rows and day partitions dropped."""
    now = now or timezone.now()
    ended = Experiment.objects.filter(status__in=(CONCLUDED, STOPPED), ended_at__isnull=False)
    expired: dict[int, bool] = {}  # experiment id -> its rows were dropped before
    windows = []
    for brand in Brand.objects.filter(pk__in=ended.values("brand_id")):
        windows.append(brand_settings(brand).event_retention_days)
        cutoff = now - timedelta(days=windows[-1])
        expired.update(ended.filter(brand=brand, ended_at__lt=cutoff).values_list("id", "events_dropped_at"))
    # Their readers for the lift report are kept before any of their events go (lift_frozen.py).
    lift_clusters_freeze(e for e, dropped in expired.items() if dropped is None)
    # Every expired experiment counts for whole days, also those swept before (their roll-ups stay).
    partitions = len(events_partitions_drop_expired(set(expired), now=now, min_retention_days=min(windows, default=0)))
    swept = events = readers = 0
    for experiment_id in sorted(e for e, dropped in expired.items() if dropped is None):
        dropped_events, dropped_readers = _drop(Event, experiment_id), _drop(Reader, experiment_id)
        # Swept once: an ended experiment takes no new events, so the next sweeps skip it.
        Experiment.objects.filter(pk=experiment_id).update(events_dropped_at=timezone.now())
        if dropped_events or dropped_readers:
            swept += 1
            events += dropped_events
            readers += dropped_readers
    return {"experiments": swept, "events": events, "readers": readers, "partitions": partitions}
