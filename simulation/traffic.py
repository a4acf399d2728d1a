"""Simulated readers: assignment through the real service, events through the real ingestion path."""
from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass

from simulation.audience import Audience

EVENT_BATCH = 1000


@dataclass
class TrafficResult:
    impressions: int = 0
    clicks: int = 0
    duplicates: int = 0
    rejected: int = 0


def send_traffic(*, key_principal, experiment_id: int, audience: Audience, units: int, views_per_unit: int,
                 rng: random.Random) -> TrafficResult:
    """Each unit is assigned (sticky) and sees its arm `views_per_unit` times; each view may be clicked."""
    from prefcontent.experiments.assignment import assignment_for_unit
    from prefcontent.experiments.ingestion import events_ingest

    result = TrafficResult()
    batch: list[dict] = []
    prob_cache: dict[int, float] = {}

    def flush():
        if batch:
            out = events_ingest(principal=key_principal, events=list(batch))
            result.duplicates += len(out.duplicates)
            result.rejected += len(out.rejected)
            batch.clear()

    for _ in range(units):
        unit = uuid.UUID(int=rng.getrandbits(128)).hex
        assigned = assignment_for_unit(principal=key_principal, experiment_id=experiment_id, unit_id=unit)
        p = prob_cache.setdefault(assigned.arm_id, audience.click_probability(assigned.text))
        for _ in range(views_per_unit):
            if len(batch) >= EVENT_BATCH - 1:  # room for an impression and its click
                flush()
            batch.append({"event_id": uuid.UUID(int=rng.getrandbits(128)).hex, "experiment": experiment_id,
                          "arm": assigned.arm_id, "type": "impression", "unit_id": unit, "timestamp": time.time()})
            result.impressions += 1
            if rng.random() < p:
                batch.append({"event_id": uuid.UUID(int=rng.getrandbits(128)).hex, "experiment": experiment_id,
                              "arm": assigned.arm_id, "type": "click", "unit_id": unit, "timestamp": time.time()})
                result.clicks += 1
    flush()
    return result
