"""Stored lift history for report, dashboard and browser tests: assignments and events in past weeks."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from prefcontent.experiments.models import Arm, Assignment, Event, Experiment
from tests.prefcontent.content.factories import CampaignFactory, VariantFactory


def held_out_experiment(brand, *, channel: str = "headline", started_at: datetime | None = None):
    """A running experiment of one human-written control and one adapter arm, on a campaign of `channel`."""
    experiment = Experiment.objects.create(brand=brand, name=f"lift {channel}", status="running",
                                           started_at=started_at or timezone.now() - timedelta(weeks=30),
                                           campaign=CampaignFactory(brand=brand, channel=channel))
    human = Arm.objects.create(experiment=experiment, variant=VariantFactory(brand=brand), is_control=True, weight=0.5)
    learned = Arm.objects.create(experiment=experiment, is_control=False, weight=0.5, variant=VariantFactory(
        brand=brand, source="generated", adapter_version_id=1))
    return experiment, human, learned


def readers(experiment, arm, *, n: int, clickers: int, held: bool, when: datetime, tag: str) -> None:
    """n readers with one impression each at `when`; the first `clickers` also click once."""
    Assignment.objects.bulk_create([Assignment(experiment=experiment, arm=arm, unit_hash=f"{tag}{i}", holdout=held,
                                               created_at=when) for i in range(n)], ignore_conflicts=True)
    events = []
    for i in range(n):
        common = {"brand": experiment.brand, "experiment": experiment, "arm": arm, "unit_hash": f"{tag}{i}",
                  "occurred_at": when, "received_at": when}
        events.append(Event(event_id=f"{tag}{i}-{when:%Y%j}i", type="impression", **common))
        if i < clickers:
            events.append(Event(event_id=f"{tag}{i}-{when:%Y%j}c", type="click", **common))
    Event.objects.bulk_create(events)


def weekly_history(brand, lifts: list[float], *, channel: str = "headline", treated: int = 1900, held: int = 100,
                   holdout_rate: float = 0.1) -> None:
    """One experiment per channel with one week of readers per entry of `lifts` (oldest first, the last week
    being this one): held-out readers click at `holdout_rate`, treated ones at holdout_rate * (1 + lift)."""
    experiment, human, learned = held_out_experiment(brand, channel=channel)
    now = timezone.now()
    for back, lift in zip(range(len(lifts) - 1, -1, -1), lifts, strict=True):
        when = now - timedelta(weeks=back, minutes=5)
        readers(experiment, learned, n=treated, clickers=round(treated * holdout_rate * (1 + lift)), held=False,
                when=when, tag=f"{channel}t")
        readers(experiment, human, n=held, clickers=round(held * holdout_rate), held=True, when=when, tag=f"{channel}h")
