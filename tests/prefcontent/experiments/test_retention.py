"""Retention drops only the raw events of experiments ended longer ago than their brand's window."""
from datetime import timedelta

from django.utils import timezone

from prefcontent.experiments.ingestion import events_ingest
from prefcontent.experiments.models import Arm, ArmHour, Event, Experiment, Reader
from prefcontent.experiments.retention import events_retention_sweep
from prefcontent.experiments.tasks import sweep_event_retention
from prefcontent.tenancy.principal import principal_for_api_key
from tests.factories import ApiKeyFactory, BrandFactory
from tests.prefcontent.experiments.factories import make_experiment


def _with_events(brand, tag: str) -> Experiment:
    experiment = make_experiment(brand)
    if not brand.api_keys.exists():
        ApiKeyFactory.issue(brand=brand)
    principal = principal_for_api_key(brand.api_keys.get())
    arms = list(experiment.arms.order_by("id"))
    now = timezone.now().isoformat()
    events = [{"event_id": f"{tag}-{i}", "experiment": experiment.pk, "arm": arms[i % 2].pk,
               "type": "click" if i % 5 == 0 else "impression", "unit_id": f"u{i % 7}", "timestamp": now}
              for i in range(30)]
    assert events_ingest(principal=principal, events=events).accepted == 30
    return experiment


def _end(experiment, *, days_ago: float, status: str = "concluded") -> None:
    Experiment.objects.filter(pk=experiment.pk).update(status=status, ended_at=timezone.now() - timedelta(days=days_ago))


def _kept(experiment) -> tuple[int, int, int, list]:
    arms = list(Arm.objects.filter(experiment=experiment).order_by("id").values_list(
        "impressions", "clicks", "readers", "exposed_units", "success_sq"))
    hours = ArmHour.objects.filter(arm__experiment=experiment).count()
    return (Event.objects.filter(experiment=experiment).count(), Reader.objects.filter(experiment=experiment).count(),
            hours, arms)


def test_sweep_drops_only_ended_experiments_past_their_brands_window(db):
    short, usual = BrandFactory(settings={"event_retention_days": 30}), BrandFactory()  # 30 days, 90 by default
    old_short = _with_events(short, "a")
    recent_short = _with_events(short, "b")
    running_short = _with_events(short, "c")
    stopped_short = _with_events(short, "d")
    old_usual = _with_events(usual, "e")
    older_usual = _with_events(usual, "f")
    _end(old_short, days_ago=31)
    _end(recent_short, days_ago=29)
    _end(stopped_short, days_ago=45, status="stopped")
    _end(old_usual, days_ago=60)
    _end(older_usual, days_ago=91)
    Experiment.objects.filter(pk=running_short.pk).update(ended_at=timezone.now() - timedelta(days=400))  # not ended
    before = {e.pk: _kept(e) for e in (old_short, recent_short, running_short, stopped_short, old_usual, older_usual)}
    assert all(b[0] == 30 and b[1] > 0 and b[2] > 0 for b in before.values())

    assert events_retention_sweep() == {"experiments": 3, "events": 90, "readers": sum(
        before[e.pk][1] for e in (old_short, stopped_short, older_usual)), "partitions": 0}  # today's: shared
    for dropped in (old_short, stopped_short, older_usual):
        events, readers, hours, arms = _kept(dropped)
        assert (events, readers) == (0, 0)
        assert (hours, arms) == before[dropped.pk][2:]  # counters and roll-ups stay
    for kept in (recent_short, running_short, old_usual):
        assert _kept(kept) == before[kept.pk]
    swept = set(Experiment.objects.filter(events_dropped_at__isnull=False).values_list("id", flat=True))
    assert swept == {old_short.pk, stopped_short.pk, older_usual.pk}  # the next sweeps skip them
    assert sweep_event_retention() == {"experiments": 0, "events": 0, "readers": 0, "partitions": 0}  # nothing left to drop
