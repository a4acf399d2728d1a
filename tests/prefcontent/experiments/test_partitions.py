"""The events table by day on PostgreSQL: where events land, partitions made ahead, whole days dropped."""
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from prefcontent.experiments.ingestion import events_ingest
from prefcontent.experiments.models import Arm, ArmHour, Event, Experiment, Reader
from prefcontent.experiments.partitions import (
    DAYS_AHEAD,
    DEFAULT_PARTITION,
    day_partitions,
    events_partitions_ensure,
    partition_create,
    partition_name,
)
from prefcontent.experiments.retention import events_retention_sweep
from prefcontent.tenancy.principal import principal_for_api_key
from tests.factories import ApiKeyFactory, BrandFactory
from tests.prefcontent.experiments.factories import make_experiment

pytestmark = pytest.mark.django_db


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite keeps the plain table")


def _send(experiment, tag: str, when: datetime, n: int = 6) -> int:
    brand = experiment.brand
    if not brand.api_keys.exists():
        ApiKeyFactory.issue(brand=brand)
    arms = list(experiment.arms.order_by("id"))
    events = [{"event_id": f"{tag}-{i}", "experiment": experiment.pk, "arm": arms[i % 2].pk,
               "type": "click" if i % 3 == 0 else "impression", "unit_id": f"u{i}", "timestamp": when.isoformat()}
              for i in range(n)]
    return events_ingest(principal=principal_for_api_key(brand.api_keys.get()), events=events).accepted


def _homes(experiment) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT tableoid::regclass::text FROM experiments_event WHERE experiment_id = %s",
                       [experiment.pk])
        return {name for (name,) in cursor.fetchall()}


def _commit_checks() -> None:
    """Run the deferred foreign-key checks of this test's inserts now, as their commit would: a table with
    pending trigger events cannot be dropped, and in the sweep's own transactions none are pending."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _day(days_ago: int) -> datetime:
    return datetime.combine(timezone.now().astimezone(UTC).date() - timedelta(days=days_ago),
                            datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)


def test_an_event_lands_in_its_days_partition_and_a_day_without_one_in_the_default(postgres):
    experiment = make_experiment(BrandFactory(), started_at=timezone.now() - timedelta(days=60))
    assert _send(experiment, "now", timezone.now()) == 6
    assert _homes(experiment) == {partition_name(timezone.now().astimezone(UTC).date())}
    assert _send(experiment, "late", _day(40)) == 6  # no partition 40 days back: the default keeps it
    assert _homes(experiment) == {partition_name(timezone.now().astimezone(UTC).date()), DEFAULT_PARTITION}
    with connection.cursor() as cursor:
        assert not partition_create(cursor, _day(40).date())  # PostgreSQL would refuse: its rows stay put
        assert _day(40).date() not in day_partitions(cursor)
    assert Event.objects.filter(experiment=experiment).count() == 12


def test_the_maintenance_task_keeps_a_week_made_ahead(postgres):
    events_partitions_ensure()  # the week from today, whenever the test database was made
    today = timezone.now().astimezone(UTC).date()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {partition_name(today + timedelta(days=2))}")
    made = events_partitions_ensure(now=timezone.now() + timedelta(days=1))
    assert made == [today + timedelta(days=2), today + timedelta(days=DAYS_AHEAD + 1)]
    assert events_partitions_ensure(now=timezone.now() + timedelta(days=1)) == []
    with connection.cursor() as cursor:
        assert set(day_partitions(cursor)) >= {today + timedelta(days=n) for n in range(DAYS_AHEAD + 2)}


def test_retention_drops_a_day_whose_events_all_expired_and_keeps_a_day_shared_with_a_live_test(postgres):
    brand = BrandFactory(settings={"event_retention_days": 30})
    ended = make_experiment(brand, started_at=timezone.now() - timedelta(days=50))
    live = make_experiment(brand, started_at=timezone.now() - timedelta(days=50))
    with connection.cursor() as cursor:
        for days_ago in (47, 45, 44):
            partition_create(cursor, _day(days_ago).date())
    assert _send(ended, "only", _day(45)) == 6  # day 45: the ended test alone
    assert _send(ended, "shared", _day(44)) == 6  # day 44: both
    assert _send(live, "live", _day(44)) == 6
    Experiment.objects.filter(pk=ended.pk).update(status="concluded", ended_at=timezone.now() - timedelta(days=31))
    counters = list(Arm.objects.filter(experiment=ended).values_list("impressions", "clicks", "readers"))
    readers = Reader.objects.filter(experiment=ended).count()
    _commit_checks()

    swept = events_retention_sweep()

    # Days 45 and 47 (empty) whole; day 44 by rows.
    assert swept == {"experiments": 1, "events": 6, "readers": readers, "partitions": 2}
    with connection.cursor() as cursor:
        days = day_partitions(cursor)
    assert _day(47).date() not in days and _day(45).date() not in days and _day(44).date() in days
    assert not Event.objects.filter(experiment=ended).exists()
    assert Event.objects.filter(experiment=live).count() == 6
    assert list(Arm.objects.filter(experiment=ended).values_list("impressions", "clicks", "readers")) == counters
    assert ArmHour.objects.filter(arm__experiment=ended).exists()  # the roll-ups stay


def test_a_day_holding_an_event_the_roll_ups_never_saw_is_not_dropped(postgres):
    brand = BrandFactory(settings={"event_retention_days": 30})
    ended = make_experiment(brand, started_at=timezone.now() - timedelta(days=50))
    other = make_experiment(brand, started_at=timezone.now() - timedelta(days=50))
    with connection.cursor() as cursor:
        partition_create(cursor, _day(45).date())
    assert _send(ended, "seen", _day(45)) == 6
    Event.objects.create(brand=brand, experiment=other, arm=other.arms.first(), event_id="bulk-1", type="click",
                         unit_hash="0" * 64, occurred_at=_day(45), received_at=_day(45))  # a bulk load: no roll-up
    Experiment.objects.filter(pk=ended.pk).update(status="concluded", ended_at=timezone.now() - timedelta(days=31))
    _commit_checks()

    assert events_retention_sweep()["partitions"] == 0
    assert Event.objects.filter(experiment=other).count() == 1


def test_a_retry_repeats_its_timestamp_and_counts_once_the_same_id_at_another_time_is_another_event():
    experiment = make_experiment(BrandFactory())
    when = timezone.now() - timedelta(minutes=5)
    assert _send(experiment, "ev", when) == 6
    assert _send(experiment, "ev", when) == 0  # the retry: all duplicates
    assert _send(experiment, "ev", when + timedelta(seconds=1)) == 6
    assert Event.objects.filter(experiment=experiment).count() == 12
