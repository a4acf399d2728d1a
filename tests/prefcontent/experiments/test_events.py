import json
from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone

from prefcontent.experiments.models import Arm, Event
from tests.conftest import client_for_key
from tests.factories import BrandFactory
from tests.prefcontent.experiments.factories import make_experiment


def ev(experiment, arm, event_id, kind="impression", unit="u1", **extra):
    return {"event_id": event_id, "experiment": experiment.pk, "arm": arm.pk, "type": kind, "unit_id": unit,
            "timestamp": timezone.now().isoformat(), **extra}


def post(client, events):
    return client.post("/api/v1/events", {"events": events}, format="json")


@pytest.fixture
def setup(brand, make_key):
    experiment = make_experiment(brand)
    control, treatment = experiment.arms.order_by("id")
    return experiment, control, treatment, client_for_key(make_key(brand, scopes=["events:write"]))


def counters(arm):
    arm.refresh_from_db()
    return arm.impressions, arm.clicks, arm.conversions


def assert_counters_match_rows():
    recount = {(r["arm_id"], r["type"]): r["n"] for r in Event.objects.values("arm_id", "type").annotate(n=Count("id"))}
    for arm in Arm.objects.all():
        assert (arm.impressions, arm.clicks, arm.conversions) == tuple(
            recount.get((arm.pk, t), 0) for t in ("impression", "click", "conversion"))


@pytest.mark.smoke
def test_batch_is_stored_counted_and_idempotent(setup):
    experiment, control, treatment, client = setup
    batch = [ev(experiment, control, "e1"), ev(experiment, treatment, "e2", unit="u2"),
             ev(experiment, treatment, "e3", "click", unit="u2"), ev(experiment, treatment, "e4", "conversion")]
    response = post(client, batch)
    assert response.status_code == 200, response.content
    assert response.json() == {"accepted": 4, "duplicates": [], "rejected": []}
    assert counters(control) == (1, 0, 0) and counters(treatment) == (1, 1, 1)
    retry = post(client, batch + [ev(experiment, control, "e5")]).json()
    assert retry["accepted"] == 1 and sorted(retry["duplicates"]) == ["e1", "e2", "e3", "e4"]
    assert counters(control) == (2, 0, 0) and counters(treatment) == (1, 1, 1)
    assert_counters_match_rows()
    assert "u1" not in Event.objects.values_list("unit_hash", flat=True)


def test_same_id_twice_in_one_batch_counts_once(setup):
    experiment, control, _, client = setup
    body = post(client, [ev(experiment, control, "dup"), ev(experiment, control, "dup")]).json()
    assert body["accepted"] == 1 and body["duplicates"] == ["dup"]
    assert counters(control) == (1, 0, 0)


def test_variant_may_name_the_arm(setup):
    experiment, _, treatment, client = setup
    event = ev(experiment, treatment, "v1")
    del event["arm"]
    event["variant"] = treatment.variant_id
    assert post(client, [event]).json()["accepted"] == 1
    assert counters(treatment) == (1, 0, 0)


def test_each_invalid_event_is_reported_by_index_with_its_reason(setup, brand):
    experiment, control, treatment, client = setup
    other = make_experiment(brand)
    draft = make_experiment(brand, status="draft")
    foreign = make_experiment(BrandFactory())
    now = timezone.now()
    batch = [
        ev(experiment, control, "ok-1"),
        "not an object",
        ev(experiment, control, "bad id with spaces"),
        {k: v for k, v in ev(experiment, control, "no-exp").items() if k != "experiment"},
        ev(experiment, control, "bad-type", kind="view"),
        ev(experiment, control, "no-unit", unit=""),
        ev(experiment, control, "bad-time", timestamp="yesterday"),
        ev(experiment, control, "future", timestamp=(now + timedelta(hours=2)).isoformat()),
        ev(experiment, control, "too-early", timestamp=(now - timedelta(days=3)).isoformat()),
        ev(experiment, other.arms.first(), "wrong-arm"),
        ev(draft, draft.arms.first(), "draft"),
        ev(foreign, foreign.arms.first(), "foreign"),
        {**ev(experiment, control, "unknown-variant"), "arm": None, "variant": 999999},
        {**ev(experiment, control, "no-arm"), "arm": None},
        ev(experiment, treatment, "ok-2", "click"),
    ]
    response = post(client, batch)
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 2
    reasons = {r["index"]: r["error"]["code"] for r in body["rejected"]}
    assert reasons == {
        1: "invalid_event", 2: "invalid_event_id", 3: "missing_experiment", 4: "invalid_type",
        5: "invalid_unit_id", 6: "invalid_timestamp", 7: "timestamp_in_future", 8: "timestamp_before_start",
        9: "unknown_arm", 10: "experiment_not_running", 11: "unknown_experiment", 12: "unknown_variant",
        13: "missing_arm",
    }
    assert body["rejected"][2]["event_id"] == "no-exp" and body["rejected"][0]["event_id"] is None
    assert all(r["error"]["message"] for r in body["rejected"])
    assert counters(control) == (1, 0, 0) and counters(treatment) == (0, 1, 0)


def test_all_invalid_batches_answer_4xx_in_the_error_shape(setup, brand):
    experiment, control, _, client = setup
    bad = post(client, [ev(experiment, control, "x", kind="view")])
    assert bad.status_code == 400
    error = bad.json()["error"]
    assert error["code"] == "invalid_events" and error["details"]["rejected"][0]["error"]["code"] == "invalid_type"
    foreign = make_experiment(BrandFactory())
    assert post(client, [ev(foreign, foreign.arms.first(), "f")]).status_code == 404
    paused = make_experiment(brand, status="paused")
    assert post(client, [ev(paused, paused.arms.first(), "p")]).status_code == 409
    assert not Event.objects.exists()


def test_size_format_and_scope_limits(setup, settings, brand, make_key):
    experiment, control, _, client = setup
    full = post(client, [ev(experiment, control, f"e{i}") for i in range(1000)])
    assert full.json()["accepted"] == 1000 and counters(control) == (1000, 0, 0)
    oversize = post(client, [ev(experiment, control, f"x{i}") for i in range(1001)])
    assert oversize.status_code == 413 and oversize.json()["error"]["code"] == "batch_too_large"
    settings.EVENTS_MAX_BYTES = 500
    too_big = post(client, [ev(experiment, control, f"e{i}") for i in range(5)])
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "payload_too_large"
    settings.EVENTS_MAX_BYTES = 1024 * 1024
    malformed = client.generic("POST", "/api/v1/events", '{"events": [', content_type="application/json")
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "malformed_request"
    assert post(client, []).json()["error"]["code"] == "empty_batch"
    no_list = client.post("/api/v1/events", json.dumps([1]), content_type="application/json")
    assert no_list.status_code == 400 and no_list.json()["error"]["code"] == "invalid_body"
    assign_only = client_for_key(make_key(brand, scopes=["assign"]))
    refused = post(assign_only, [ev(experiment, control, "s")])
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "missing_scope"
    assert Event.objects.count() == 1000 and counters(control) == (1000, 0, 0)


def test_a_failure_after_insert_leaves_nothing_half_counted(setup, monkeypatch):
    experiment, control, _, client = setup
    from django.db.models import QuerySet

    def broken_update(self, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(QuerySet, "update", broken_update)
    with pytest.raises(RuntimeError):
        post(client, [ev(experiment, control, "e1"), ev(experiment, control, "e2")])
    monkeypatch.undo()
    assert not Event.objects.exists() and counters(control) == (0, 0, 0)
    assert post(client, [ev(experiment, control, "e1")]).json()["accepted"] == 1  # the retry counts it


def test_people_with_content_write_may_post_events(setup, brand, make_member):
    from tests.conftest import client_for_user

    experiment, control, _, _ = setup
    marketer = client_for_user(make_member(brand.organization, "marketer"))
    viewer = client_for_user(make_member(brand.organization, "viewer"))
    assert post(viewer, [ev(experiment, control, "v")]).status_code == 403
    assert post(marketer, [ev(experiment, control, "m")]).json()["accepted"] == 1
