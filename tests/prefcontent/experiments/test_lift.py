"""The lift report from stored assignments and events, and its API."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY

from prefcontent.experiments.lift import lift_report_for_brand, lift_window
from prefcontent.experiments.models import Arm, Assignment, Event, Experiment, LiftCluster
from prefcontent.experiments.retention import events_retention_sweep
from tests.conftest import client_for_key, client_for_user
from tests.factories import BrandFactory
from tests.prefcontent.content.factories import CampaignFactory, VariantFactory

MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _experiment(brand, channel="headline"):
    experiment = Experiment.objects.create(brand=brand, name="lift", status="running", started_at=MONDAY - timedelta(days=1),
                                           campaign=CampaignFactory(brand=brand, channel=channel))
    human = Arm.objects.create(experiment=experiment, variant=VariantFactory(brand=brand), is_control=True, weight=0.5)
    learned = Arm.objects.create(experiment=experiment, is_control=False, weight=0.5, variant=VariantFactory(
        brand=brand, source="generated", adapter_version_id=1))
    return experiment, human, learned


def _readers(experiment, arm, *, n: int, clickers: int, held: bool, when: datetime, tag: str):
    """n readers with one impression each at `when`; the first `clickers` also click once."""
    Assignment.objects.bulk_create([Assignment(experiment=experiment, arm=arm, unit_hash=f"{tag}{i}", holdout=held)
                                    for i in range(n)], ignore_conflicts=True)
    events = []
    for i in range(n):
        events.append(Event(brand=experiment.brand, experiment=experiment, arm=arm, event_id=f"{tag}{i}-{when:%j}i",
                            type="impression", unit_hash=f"{tag}{i}", occurred_at=when, received_at=when))
        if i < clickers:
            events.append(Event(brand=experiment.brand, experiment=experiment, arm=arm, event_id=f"{tag}{i}-{when:%j}c",
                                type="click", unit_hash=f"{tag}{i}", occurred_at=when, received_at=when))
    Event.objects.bulk_create(events)


def _window():
    return lift_window(since=(MONDAY - timedelta(days=7)).isoformat(), until=(MONDAY + timedelta(days=21)).isoformat())


@pytest.fixture
def two_weeks(brand):
    """Two experiments on headlines: week 1 the learned copy gets 12 % of readers to click against 10 % held
    out; week 2 both get 10 %."""
    for k in range(2):
        experiment, human, learned = _experiment(brand)
        _readers(experiment, learned, n=1000, clickers=120, held=False, when=MONDAY, tag=f"e{k}t")
        _readers(experiment, human, n=100, clickers=10, held=True, when=MONDAY, tag=f"e{k}h")
        later = MONDAY + timedelta(days=7)
        _readers(experiment, learned, n=1000, clickers=100, held=False, when=later, tag=f"e{k}t")
        _readers(experiment, human, n=100, clickers=10, held=True, when=later, tag=f"e{k}h")
    return brand


def test_report_pools_experiments_per_channel_and_week(two_weeks):
    report = lift_report_for_brand(brand=two_weeks, window=_window())
    (channel,) = report["channels"]
    assert channel["channel"] == "headline" and channel["experiments"] == 2
    first, second = channel["weeks"]
    assert first["week"] == "2026-11-02" and second["week"] == "2026-11-09"
    assert first["lift"] == pytest.approx(0.2) and second["lift"] == pytest.approx(0.0)
    assert first["treated_readers"] == 2000 and first["holdout_readers"] == 200
    assert first["low"] < 0.2 < first["high"]
    # The whole window: each reader once, their clicks of both weeks summed (220 / 1000 against 20 / 100).
    overall = channel["overall"]
    assert overall["treated_rate"] == pytest.approx(0.22) and overall["holdout_rate"] == pytest.approx(0.2)
    assert overall["lift"] == pytest.approx(0.1) and overall["experiments"] == 2
    check = report["holdout_check"]
    assert check["assigned"] == 0  # assignments were made outside the window (bulk_create: now)


def test_report_narrows_to_experiments_and_counts_those_without_a_holdout_arm(two_weeks):
    all_human = Experiment.objects.create(brand=two_weeks, name="human", status="running", started_at=MONDAY)
    for i in range(2):
        Arm.objects.create(experiment=all_human, variant=VariantFactory(brand=two_weeks), is_control=i == 0)
    report = lift_report_for_brand(brand=two_weeks, window=_window())
    assert report["experiments_without_holdout_arm"] == 1
    first_id = Experiment.objects.filter(brand=two_weeks, campaign__isnull=False).order_by("id").first().pk
    narrowed = lift_report_for_brand(brand=two_weeks, window=_window(), experiment_ids=[first_id])
    assert narrowed["channels"][0]["experiments"] == 1
    assert narrowed["channels"][0]["weeks"][0]["lift"] == pytest.approx(0.2)


def test_holdout_share_check_counts_the_windows_assignments(brand):
    experiment, human, learned = _experiment(brand)
    _readers(experiment, learned, n=900, clickers=0, held=False, when=MONDAY, tag="t")
    _readers(experiment, human, n=100, clickers=0, held=True, when=MONDAY, tag="h")  # 10 % against 5 %
    now = datetime.now(tz=UTC)
    report = lift_report_for_brand(brand=brand, window=lift_window(since=(MONDAY - timedelta(days=7)).isoformat(),
                                                                   until=(now + timedelta(days=1)).isoformat()))
    check = report["holdout_check"]
    assert check["assigned"] == 1000 and check["held_out"] == 100 and check["observed_share"] == 0.1
    assert check["srm_flag"] is True and check["srm_p_value"] < 1e-6


def _gauge(brand, kind: str) -> float | None:
    return REGISTRY.get_sample_value("prefcontent_lift_alert", {"brand": str(brand.pk), "channel": "headline",
                                                                "kind": kind})


def test_alerts_fire_when_the_interval_stays_below_zero(brand):
    brand.settings = {"lift_alert_weeks": 2}
    brand.save()
    experiment, human, learned = _experiment(brand)
    for week in range(3):
        when = MONDAY + timedelta(days=7 * week)
        _readers(experiment, learned, n=1000, clickers=100, held=False, when=when, tag="t")
        _readers(experiment, human, n=100, clickers=10, held=True, when=when, tag="h")
    report = lift_report_for_brand(brand=brand, window=_window())
    assert [a["kind"] for a in report["alerts"]] == ["below_zero"]
    assert report["channels"][0]["alerts"] == ["below_zero"]
    assert _gauge(brand, "below_zero") == 1 and _gauge(brand, "decay") == 0


def test_api_answers_the_report(two_weeks, owner):
    client = client_for_user(owner)
    since = (MONDAY - timedelta(days=7)).isoformat()
    response = client.get(f"/api/v1/brands/{two_weeks.pk}/lift", {"since": since, "until": "2026-11-23"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"brand", "metric", "since", "until", "holdout_share", "alpha", "interval", "channels",
                         "alerts", "holdout_check", "experiments_without_holdout_arm"}
    assert body["metric"] == "click" and body["holdout_share"] == 0.05
    week = body["channels"][0]["weeks"][0]
    assert {"week", "lift", "low", "high", "treated_rate", "holdout_rate", "treated_readers", "holdout_readers",
            "experiments", "std_error", "variance_from"} == set(week)
    conversions = client.get(f"/api/v1/brands/{two_weeks.pk}/lift", {"since": since, "metric": "conversion"}).json()
    assert conversions["metric"] == "conversion" and conversions["channels"][0]["overall"]["lift"] is None


@pytest.mark.parametrize("params", [
    {"weeks": "0"}, {"weeks": "105"}, {"weeks": "abc"}, {"weeks": "2", "since": "2026-01-01"},
    {"since": "yesterday"}, {"since": "2026-11-10", "until": "2026-11-01"}, {"metric": "revenue"},
    {"since": "2020-01-01", "until": "2026-01-01"},
])
def test_api_refuses_bad_parameters(brand, owner, params):
    response = client_for_user(owner).get(f"/api/v1/brands/{brand.pk}/lift", params)
    assert response.status_code == 400, response.content
    assert set(response.json()["error"]) == {"code", "message", "details"}


def test_api_keys_read_it_with_content_read_and_other_tenants_get_404(brand, owner, make_key):
    assert client_for_key(make_key(brand, scopes=["content:read"])).get(
        f"/api/v1/brands/{brand.pk}/lift").status_code == 200
    other = BrandFactory()
    assert client_for_user(owner).get(f"/api/v1/brands/{other.pk}/lift").status_code == 404


def test_report_is_the_same_after_retention_drops_the_events(two_weeks):
    """Retention freezes the readers before it drops the events: the report reads the frozen clusters."""
    window = _window()
    before = lift_report_for_brand(brand=two_weeks, window=window)
    conversions_before = lift_report_for_brand(brand=two_weeks, window=window, metric="conversion")
    ids = list(Experiment.objects.filter(brand=two_weeks).values_list("id", flat=True))
    two_weeks.settings = {**two_weeks.settings, "event_retention_days": 1}
    two_weeks.save(update_fields=["settings"])
    ended = MONDAY + timedelta(days=13)  # in the window, and more than a day ago
    assert ended < timezone.now() - timedelta(days=1)
    Experiment.objects.filter(pk__in=ids).update(status="concluded", ended_at=ended)
    events_retention_sweep()
    assert not Event.objects.filter(experiment_id__in=ids).exists()
    frozen = LiftCluster.objects.filter(experiment_id__in=ids)
    assert set(frozen.values_list("metric", flat=True)) == {"click", "conversion"}
    assert set(frozen.values_list("week", flat=True)) == {"all", "2026-11-02", "2026-11-09"}

    after = lift_report_for_brand(brand=two_weeks, window=window)
    assert after["channels"] == before["channels"] and after["alerts"] == before["alerts"]
    assert lift_report_for_brand(brand=two_weeks, window=window, metric="conversion")["channels"] == \
        conversions_before["channels"]
    # A window that holds only the second week reads that week; its total is each experiment's whole life.
    second = lift_report_for_brand(brand=two_weeks, window=lift_window(
        since=(MONDAY + timedelta(days=7)).isoformat(), until=(MONDAY + timedelta(days=14)).isoformat()))
    (channel,) = second["channels"]
    assert [w["week"] for w in channel["weeks"]] == ["2026-11-09"]
    assert channel["weeks"][0]["lift"] == pytest.approx(0.0)
    assert channel["overall"]["treated_rate"] == pytest.approx(0.22)
    # A week that starts where the window ends is out of it.
    first_only = lift_report_for_brand(brand=two_weeks, window=lift_window(
        since=MONDAY.isoformat(), until=(MONDAY + timedelta(days=7) - timedelta(hours=9)).isoformat()))
    assert [w["week"] for w in first_only["channels"][0]["weeks"]] == ["2026-11-02"]
    # Frozen once: a later sweep keeps the rows (the events cannot give them again).
    count = frozen.count()
    events_retention_sweep()
    assert LiftCluster.objects.filter(experiment_id__in=ids).count() == count
