"""The experiment loop's metrics, recorded by real API traffic and read from /metrics before and after."""
from __future__ import annotations

import pytest
from django.utils import timezone

from prefcontent.preferences.tasks import build_pairs_for_experiment
from tests.conftest import client_for_key
from tests.metrics_scrape import change_since, scrape
from tests.prefcontent.experiments.factories import make_experiment

pytestmark = pytest.mark.django_db


def ev(experiment, arm, event_id, kind="impression", unit="u1"):
    return {"event_id": event_id, "experiment": experiment.pk, "arm": arm.pk, "type": kind, "unit_id": unit,
            "timestamp": timezone.now().isoformat()}


def test_assignments_and_events_are_counted_by_brand_and_reason(brand, make_key):
    experiment = make_experiment(brand)
    control, treatment = experiment.arms.order_by("id")
    client = client_for_key(make_key(brand, scopes=["assign", "events:write"]))
    before = scrape()

    for unit in ("alice", "bob", "alice"):
        assert client.get(f"/api/v1/experiments/{experiment.pk}/assign?unit_id={unit}").status_code == 200
    batch = [ev(experiment, control, "e1"), ev(experiment, treatment, "e2", "click"), ev(experiment, control, "e1"),
             {**ev(experiment, control, "e3"), "arm": 999_999}, {"event_id": "bad id!"}]
    assert client.post("/api/v1/events", {"events": batch}, format="json").json()["accepted"] == 2
    resent = client.post("/api/v1/events", {"events": batch[:2]}, format="json").json()
    assert resent["accepted"] == 0 and sorted(resent["duplicates"]) == ["e1", "e2"]

    delta = change_since(before)
    assert delta("prefcontent_assignments_total", brand=brand.pk, status="running") == 3
    assert delta("prefcontent_events_ingested_total", brand=brand.pk) == 2
    assert delta("prefcontent_events_rejected_total", brand=brand.pk, reason="duplicate") == 3  # 1 in-batch, 2 resent
    assert delta("prefcontent_events_rejected_total", brand=brand.pk, reason="unknown_arm") == 1
    assert delta("prefcontent_events_rejected_total", brand="unknown", reason="invalid_event_id") == 1


def test_a_decision_and_the_pairs_built_from_it_are_counted(brand, owner_client, monkeypatch,
                                                            django_capture_on_commit_callbacks):
    from prefcontent.celery import app

    monkeypatch.setattr(app, "send_task", lambda *args, **kwargs: None)  # the worker's part is run below
    experiment = make_experiment(brand, arms=3, min_sample_per_arm=1000)
    texts = ["Meet our new running shoes", "Save 20% on running shoes today", "Save 20% on running shoes today!"]
    for arm, (impressions, clicks), text in zip(experiment.arms.order_by("id"), [(5000, 500), (5000, 650), (5000, 505)],
                                                texts, strict=True):
        arm.impressions, arm.clicks = impressions, clicks
        arm.save()
        arm.variant.text = text  # the third is a near-duplicate of the winner: its pair is excluded
        arm.variant.save()
    before = scrape()

    with django_capture_on_commit_callbacks(execute=True):
        assert owner_client.post(f"/api/v1/experiments/{experiment.pk}/decide/").json()["concluded"] is True
    built = build_pairs_for_experiment(experiment.pk)

    delta = change_since(before)
    assert delta("prefcontent_decisions_total", brand=brand.pk, outcome="winner") == 1
    assert built["pairs"] >= 2 and built["active"] >= 1 and built["excluded"].get("near_duplicate") == 1
    assert delta("prefcontent_pairs_built_total", brand=brand.pk, status="active") == built["active"]
    excluded = sum(built["excluded"].values())
    assert delta("prefcontent_pairs_built_total", brand=brand.pk, status="excluded") == excluded
    for reason, n in built["excluded"].items():
        assert delta("prefcontent_pairs_excluded_total", brand=brand.pk, reason=reason) == n
