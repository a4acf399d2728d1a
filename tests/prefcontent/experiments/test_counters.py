"""Reader counters kept at ingestion equal what a full scan of the events finds."""
import random
from datetime import UTC, timedelta

import pytest
from django.db import connection
from django.db.models import Count, Q
from django.db.models.functions import TruncHour
from django.utils import timezone

from prefcontent.experiments.assigned import assigned_totals
from prefcontent.experiments.counters import counters_rebuild
from prefcontent.experiments.holdout import holdout_arm_counts
from prefcontent.experiments.ingestion import events_ingest
from prefcontent.experiments.models import Arm, ArmHour, Assignment, Event, Reader
from prefcontent.experiments.readers import reader_stats, reader_stats_scan
from prefcontent.tenancy.principal import principal_for_api_key
from tests.concurrently import run_together
from tests.factories import ApiKeyFactory
from tests.prefcontent.experiments.factories import make_experiment

COUNTERS = ("impressions", "clicks", "conversions", "readers", "exposed_units", "success_sq", "weighted_successes",
            "weighted_success_sq", "ipw_successes", "ipw_success_sq", "unweighted_readers", "held_readers",
            "held_impressions", "held_successes")


def _principal(brand):
    ApiKeyFactory.issue(brand=brand)
    return principal_for_api_key(brand.api_keys.get())


def _from_counters(experiment):
    arms = list(Arm.objects.filter(experiment=experiment).order_by("id"))
    held = holdout_arm_counts([experiment.pk]).get(experiment.pk, {})
    return reader_stats(arms=arms, metric=experiment.primary_metric, adaptive=experiment.allocation == "thompson",
                        assigned=assigned_totals([experiment.pk]).get(experiment.pk, {}),
                        held_successes={arm_id: h[2] for arm_id, h in held.items()})


def _assert_equal(stats, scanned):
    assert stats.unweighted_readers == scanned.unweighted_readers
    assert set(stats.arms) == set(scanned.arms)
    for arm_id, got in stats.arms.items():
        want = scanned.arms[arm_id]
        assert (got.readers, got.total, got.total_sq) == (want.readers, want.total, want.total_sq)
        for name in ("ipw_total", "ipw_total_sq", "ipw_weight_sq"):
            if getattr(want, name) is None:
                assert getattr(got, name) is None
            else:
                assert getattr(got, name) == pytest.approx(getattr(want, name), rel=1e-9, abs=1e-9)


def _assert_matches_scan(experiment):
    _assert_equal(_from_counters(experiment), reader_stats_scan(
        experiment_id=experiment.pk, metric=experiment.primary_metric, adaptive=experiment.allocation == "thompson"))
    held_out = Assignment.objects.filter(experiment=experiment, holdout=True).values("unit_hash")
    tested = Event.objects.filter(experiment=experiment).exclude(unit_hash__in=held_out)
    exposed = dict(tested.filter(type="impression").values("arm_id")
                   .annotate(n=Count("unit_hash", distinct=True)).values_list("arm_id", "n"))
    readers = dict(tested.values("arm_id").annotate(n=Count("unit_hash", distinct=True)).values_list("arm_id", "n"))
    for arm in Arm.objects.filter(experiment=experiment):
        assert arm.exposed_units == exposed.get(arm.pk, 0) and arm.readers == readers.get(arm.pk, 0)
    # Held-out readers are counted apart: their readers, impressions and primary-metric events.
    of_held = Event.objects.filter(experiment=experiment, unit_hash__in=held_out)
    want = {r["arm_id"]: (r["n"], r["i"], r["s"]) for r in of_held.values("arm_id").annotate(
        n=Count("unit_hash", distinct=True), i=Count("id", filter=Q(type="impression")),
        s=Count("id", filter=Q(type=experiment.primary_metric)))}
    assert holdout_arm_counts([experiment.pk]).get(experiment.pk, {}) == want
    hours = {(r["arm_id"], r["h"]): (r["i"], r["c"], r["v"]) for r in Event.objects.filter(experiment=experiment)
             .annotate(h=TruncHour("occurred_at", tzinfo=UTC)).values("arm_id", "h")
             .annotate(i=Count("id", filter=Q(type="impression")), c=Count("id", filter=Q(type="click")),
                       v=Count("id", filter=Q(type="conversion")))}
    rolled = {(r.arm_id, r.hour): (r.impressions, r.clicks, r.conversions)
              for r in ArmHour.objects.filter(arm__experiment=experiment)}
    assert rolled == hours


@pytest.mark.parametrize(("allocation", "metric"), [("fixed", "click"), ("thompson", "click"),
                                                    ("fixed", "conversion"), ("thompson", "conversion")])
def test_counters_equal_the_full_scan_after_random_batches_with_duplicates_and_retries(brand, allocation, metric):
    experiment = make_experiment(brand, arms=3, allocation=allocation, primary_metric=metric,
                                 started_at=timezone.now() - timedelta(hours=4))
    arms = list(experiment.arms.order_by("id"))
    principal = _principal(brand)
    rng = random.Random(f"{allocation}-{metric}")
    from prefcontent.experiments.units import unit_hash

    # Two thirds of the readers were assigned first (with a propensity, some to another arm than their
    # events name, a few with none stored, one in seven to the brand's holdout); the rest send events
    # with no assignment.
    units = [f"reader-{u}" for u in range(60)]
    home = {u: rng.choice(arms) for u in units}
    for i, u in enumerate(units[:40]):
        Assignment.objects.create(experiment=experiment, arm=home[u] if rng.random() < 0.9 else rng.choice(arms),
                                  unit_hash=unit_hash(brand.pk, u), propensity=rng.choice([0.05, 0.2, 0.5, None]),
                                  holdout=i % 7 == 0)
    start = timezone.now() - timedelta(hours=3)
    sent: list[dict] = []
    for batch in range(12):
        events = []
        for i in range(rng.randint(1, 80)):
            u = rng.choice(units)
            events.append({"event_id": f"b{batch}-{i}", "experiment": experiment.pk,
                           "arm": (home[u] if rng.random() < 0.95 else rng.choice(arms)).pk,
                           "type": rng.choices(("impression", "click", "conversion"), weights=(6, 3, 1))[0],
                           "unit_id": u, "timestamp": (start + timedelta(minutes=rng.randrange(180))).isoformat()})
        if sent:  # a client retrying part of an earlier batch, and a duplicate inside this one
            events += rng.sample(sent, min(len(sent), rng.randint(0, 20)))
            events.append(events[0])
        result = events_ingest(principal=principal, events=events)
        assert not result.rejected
        sent += events
        _assert_matches_scan(experiment)
    assert Event.objects.filter(experiment=experiment).count() == len({e["event_id"] for e in sent})
    # The repair command's rebuild from the raw events lands on the same counters.
    before = list(Arm.objects.filter(experiment=experiment).order_by("id").values_list(*COUNTERS))
    Arm.objects.filter(experiment=experiment).update(readers=0, success_sq=0, ipw_successes=0.0)
    with connection.cursor() as cursor:
        counters_rebuild(cursor, connection.vendor, [experiment.pk])
    after = list(Arm.objects.filter(experiment=experiment).order_by("id").values_list(*COUNTERS))
    assert [r[:8] + r[10:] for r in after] == [r[:8] + r[10:] for r in before]
    assert [v for r in after for v in r[8:10]] == pytest.approx([v for r in before for v in r[8:10]])
    _assert_matches_scan(experiment)


def test_only_inserted_events_move_the_counters(brand):
    experiment = make_experiment(brand)
    arm = experiment.arms.order_by("id").first()
    principal = _principal(brand)
    now = timezone.now().isoformat()
    batch = [{"event_id": f"e{i}", "experiment": experiment.pk, "arm": arm.pk, "type": kind, "unit_id": "u1",
              "timestamp": now} for i, kind in enumerate(["impression", "click", "click"])]
    events_ingest(principal=principal, events=batch)
    events_ingest(principal=principal, events=batch)  # the retry: all duplicates
    arm.refresh_from_db()
    assert (arm.readers, arm.exposed_units, arm.clicks, arm.success_sq) == (1, 1, 2, 4)
    events_ingest(principal=principal, events=[{**batch[1], "event_id": "e9"}])
    arm.refresh_from_db()
    assert (arm.readers, arm.clicks, arm.success_sq) == (1, 3, 9)  # one reader with y = 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_overlapping_batches_keep_reader_counters_exact():
    from tests.factories import BrandFactory

    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises them anyway)")
    brand = BrandFactory()
    principal = _principal(brand)
    experiment = make_experiment(brand, arms=2)
    arms = list(experiment.arms.order_by("id"))
    rng = random.Random(3)
    now = timezone.now().isoformat()
    events = [{"event_id": f"ev-{i}", "experiment": experiment.pk, "arm": arms[i % 2].pk,
               "type": rng.choice(["impression", "click"]), "unit_id": f"u{i % 37}", "timestamp": now}
              for i in range(400)]
    batches = [events[(t % 4) * 50:(t % 4) * 50 + 200][::1 if t % 2 else -1] for t in range(8)]
    run_together(lambda batch: events_ingest(principal=principal, events=batch), batches)
    _assert_matches_scan(experiment)


def test_repair_command_counts_events_written_outside_ingestion(brand):
    """What migration 0003 does for events stored before the counters existed."""
    from django.core.management import call_command

    experiment = make_experiment(brand, allocation="thompson")
    arms = list(experiment.arms.order_by("id"))
    now = timezone.now()
    for u in range(0, 20, 2):
        Assignment.objects.create(experiment=experiment, arm=arms[u % 2], unit_hash=f"{u:064d}", propensity=0.25)
    Event.objects.bulk_create([
        Event(brand_id=brand.pk, experiment=experiment, arm=arms[u % 2], event_id=f"raw-{u}-{k}",
              type=("impression", "click")[k % 2], unit_hash=f"{u:064d}", occurred_at=now, received_at=now)
        for u in range(20) for k in range(u % 4 + 1)])
    assert not Reader.objects.exists() and not Arm.objects.filter(experiment=experiment, readers__gt=0).exists()
    call_command("experiments_rebuild_counters")
    _assert_matches_scan(experiment)
    assert _from_counters(experiment).unweighted_readers == 10
