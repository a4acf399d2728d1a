"""Faults: nothing accepted is lost, nothing is counted twice."""
import time
import uuid

import pytest
from django.db import OperationalError
from kombu.exceptions import OperationalError as BrokerDown

from prefcontent.experiments import ingestion
from prefcontent.experiments.decisions import (
    experiments_decide_chunk,
    experiments_decide_plan,
    experiments_decide_running,
)
from prefcontent.experiments.models import Arm, Decision, Event
from prefcontent.preferences.models import PreferencePair
from prefcontent.preferences.services import pairs_build_pending
from tests.conftest import client_for_key
from tests.prefcontent.experiments.factories import make_experiment


def _events(experiment, n, *, clicks_on=None, batch=0):
    """n readers (unit ids distinct per `batch`: decisions count readers), one impression each."""
    arms = list(experiment.arms.order_by("pk"))
    out = []
    for i in range(n):
        arm = arms[i % len(arms)]
        out.append({"event_id": uuid.uuid4().hex, "experiment": experiment.pk, "arm": arm.pk, "type": "impression",
                    "unit_id": f"u{batch}-{i}", "timestamp": time.time()})
        if clicks_on is not None and arm.pk == arms[clicks_on].pk and i % 4 < 2:
            out.append({"event_id": uuid.uuid4().hex, "experiment": experiment.pk, "arm": arm.pk, "type": "click",
                        "unit_id": f"u{batch}-{i}", "timestamp": time.time()})
    return out


def _counts(experiment):
    return {a.pk: (a.impressions, a.clicks) for a in Arm.objects.filter(experiment=experiment)}


def test_database_drop_mid_batch_is_all_or_nothing_and_a_retry_counts_once(brand, make_key, monkeypatch):
    experiment = make_experiment(brand, arms=2)
    client = client_for_key(make_key(brand))
    batch = _events(experiment, 50)
    real_update = Arm.objects.filter

    calls = {"n": 0}

    def flaky_filter(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:  # the second counter update: the event rows are already inserted
            raise OperationalError("server closed the connection unexpectedly")
        return real_update(*args, **kwargs)

    monkeypatch.setattr(ingestion.Arm.objects, "filter", flaky_filter)
    response = client.post("/api/v1/events", {"events": batch}, format="json")
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response.json()["error"]["code"] == "database_unavailable"
    assert Event.objects.filter(experiment=experiment).count() == 0
    assert set(_counts(experiment).values()) == {(0, 0)}

    monkeypatch.undo()
    retry = client.post("/api/v1/events", {"events": batch}, format="json")
    assert retry.status_code == 200 and retry.json()["accepted"] == 50
    again = client.post("/api/v1/events", {"events": batch}, format="json")
    assert again.json()["accepted"] == 0 and len(again.json()["duplicates"]) == 50
    assert sum(i for i, _ in _counts(experiment).values()) == 50


def test_broker_down_events_are_counted_and_pairs_are_built_later(brand, make_key, monkeypatch,
                                                                  django_capture_on_commit_callbacks):
    from prefcontent.celery import app

    def broker_down(*args, **kwargs):
        raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(app, "send_task", broker_down)
    experiment = make_experiment(brand, arms=2, min_sample_per_arm=100)
    client = client_for_key(make_key(brand))
    for batch in range(4):
        response = client.post("/api/v1/events", {"events": _events(experiment, 400, clicks_on=1, batch=batch)},
                               format="json")
        assert response.status_code == 200
    assert sum(i for i, _ in _counts(experiment).values()) == 1600
    with django_capture_on_commit_callbacks(execute=True):
        outcome = experiments_decide_running()
    assert outcome["concluded"] == 1
    assert Decision.objects.get(experiment=experiment).outcome == "winner"
    assert not PreferencePair.objects.filter(experiment=experiment).exists()  # the build task was never sent

    monkeypatch.undo()
    result = pairs_build_pending()
    assert result.experiments == 1
    assert PreferencePair.objects.filter(experiment=experiment).count() == 1
    assert pairs_build_pending().experiments == 0


@pytest.mark.django_db(transaction=True)
def test_scheduler_firing_twice_decides_once_and_builds_pairs_once(brand, make_key):
    experiment = make_experiment(brand, arms=2, min_sample_per_arm=100)
    client = client_for_key(make_key(brand))
    for batch in range(4):
        client.post("/api/v1/events", {"events": _events(experiment, 400, clicks_on=1, batch=batch)}, format="json")
    # Both firings plan the experiment before either's chunk task runs; then both chunks run.
    first, second = experiments_decide_plan(), experiments_decide_plan()
    assert first.chunks == second.chunks == [[experiment.pk]]
    done = [experiments_decide_chunk(experiment_ids=plan.chunks[0]) for plan in (first, second)]
    assert done[0]["concluded"] == 1 and done[1]["concluded"] == 0
    assert Decision.objects.filter(experiment=experiment).count() == 1
    from prefcontent.preferences.building import pairs_build_for_experiment

    pairs_build_for_experiment(experiment_id=experiment.pk)
    pairs_build_for_experiment(experiment_id=experiment.pk)
    assert PreferencePair.objects.filter(experiment=experiment).count() == 1
