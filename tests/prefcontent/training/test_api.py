"""Creating, listing, cancelling and retrying runs through the API; quota; enqueue failures."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from prefcontent.accounts.models import AuditLog
from prefcontent.training.models import TrainingRun
from tests.conftest import client_for_user
from tests.factories import BrandFactory
from tests.prefcontent.training.conftest import record_runs_sent
from tests.prefcontent.training.factories import make_snapshot

State = TrainingRun.State


@pytest.fixture
def snapshot(brand):
    return make_snapshot(brand, train=4, holdout=5)


@pytest.fixture
def sent(monkeypatch):
    """Run ids handed to the broker, without a broker."""
    return record_runs_sent(monkeypatch)


def create(client, brand, snapshot, **extra):
    return client.post("/api/v1/training-runs/", {"brand": brand.pk, "snapshot": snapshot.pk, **extra}, format="json")


def test_create_queues_the_run_with_validated_hyperparameters_and_enqueues_after_commit(
        owner_client, owner, brand, snapshot, sent, settings, django_capture_on_commit_callbacks):
    settings.PREFCONTENT_BASE_MODEL = "/models/base"
    with django_capture_on_commit_callbacks(execute=True):
        response = create(owner_client, brand, snapshot, hyperparameters={"max_steps": 7, "beta": 0.2})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "queued" and body["total_steps"] == 7 and body["metrics"] == []
    assert body["hyperparameters"]["beta"] == 0.2 and body["hyperparameters"]["lora_rank"] == 16
    run = TrainingRun.objects.get(pk=body["id"])
    assert run.base_model_id == "/models/base" and run.created_by == owner
    assert sent == [run.pk] and run.enqueued_at is not None
    assert AuditLog.objects.filter(action="training_run.create", target_id=str(run.pk)).exists()


def test_base_model_defaults_to_the_dev_model(owner_client, brand, snapshot, sent, settings):
    settings.PREFCONTENT_BASE_MODEL = ""
    assert create(owner_client, brand, snapshot).json()["base_model_id"] == str(settings.DEV_MODEL_DIR)


@pytest.mark.parametrize("hp", [{"lora_rank": 7}, {"loss_type": "nope"}, {"device": "cuda"}, {"max_steps": 0}])
def test_bad_hyperparameters_are_a_400(owner_client, brand, snapshot, sent, hp):
    response = create(owner_client, brand, snapshot, hyperparameters=hp)
    assert response.status_code == 400, response.content
    assert not TrainingRun.objects.exists()


def test_a_snapshot_of_another_brand_is_not_found(owner_client, org, brand, sent):
    other = make_snapshot(BrandFactory(organization=org), train=2, holdout=1)
    assert create(owner_client, brand, other).status_code == 404


@pytest.mark.parametrize(("role", "code"), [("marketer", 201), ("ops", 201), ("viewer", 403)])
def test_who_may_start_training(org, brand, snapshot, make_member, sent, role, code):
    assert create(client_for_user(make_member(org, role)), brand, snapshot).status_code == code


def test_daily_quota_answers_429_with_retry_after(owner_client, brand, snapshot, sent, settings):
    settings.TRAINING_RUNS_PER_BRAND_PER_DAY = 2
    old = TrainingRun.objects.create(brand=brand, snapshot=snapshot, base_model_id="m", state=State.FAILED)
    TrainingRun.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=23))
    assert create(owner_client, brand, snapshot).status_code == 201
    response = create(owner_client, brand, snapshot)
    assert response.status_code == 429
    assert 3000 < int(response["Retry-After"]) <= 3601
    assert response.json()["error"]["code"] == "limit_exceeded"


def test_broker_down_keeps_the_run_and_the_reaper_sends_it_later(
        owner_client, brand, snapshot, monkeypatch, request, django_capture_on_commit_callbacks):
    from prefcontent.training.services import training_runs_reap

    request.getfixturevalue("broker_down")
    with django_capture_on_commit_callbacks(execute=True):
        response = create(owner_client, brand, snapshot)
    assert response.status_code == 201
    run = TrainingRun.objects.get(pk=response.json()["id"])
    assert run.state == State.QUEUED and run.enqueued_at is None
    calls = record_runs_sent(monkeypatch)
    assert training_runs_reap()["enqueued"] == 1
    assert calls == [run.pk]
    run.refresh_from_db()
    assert run.enqueued_at is not None
    assert training_runs_reap()["enqueued"] == 0  # sent recently: not sent again


def test_detail_shows_progress_and_metric_history(owner_client, brand, snapshot):
    run = TrainingRun.objects.create(brand=brand, snapshot=snapshot, base_model_id="m", state=State.RUNNING,
                                     step=2, total_steps=4,
                                     metrics=[{"step": 1, "loss": 0.69, "reward_accuracy": 0.5},
                                              {"step": 2, "loss": 0.6, "reward_accuracy": 1.0}])
    body = owner_client.get(f"/api/v1/training-runs/{run.pk}/").json()
    assert body["progress"] == 0.5
    assert [m["loss"] for m in body["metrics"]] == [0.69, 0.6]
    assert [m["reward_accuracy"] for m in body["metrics"]] == [0.5, 1.0]


def test_marketers_list_per_brand_and_ops_list_across_brands(org, brand, snapshot, make_member):
    other_brand = BrandFactory(organization=org)
    runs = [TrainingRun.objects.create(brand=b, snapshot=make_snapshot(b, train=1, holdout=1), base_model_id="m")
            for b in (brand, other_brand)]
    marketer, ops = client_for_user(make_member(org, "marketer")), client_for_user(make_member(org, "ops"))
    ids = lambda r: {row["id"] for row in r.json()["results"]}
    assert ids(marketer.get(f"/api/v1/training-runs/?brand={brand.pk}")) == {runs[0].pk}
    assert ids(marketer.get("/api/v1/training-runs/")) == set()
    assert ids(ops.get("/api/v1/training-runs/")) == {r.pk for r in runs}


def test_cancel_a_queued_run_is_immediate_and_terminal_runs_refuse(owner_client, brand, snapshot):
    run = TrainingRun.objects.create(brand=brand, snapshot=snapshot, base_model_id="m")
    body = owner_client.post(f"/api/v1/training-runs/{run.pk}/cancel/").json()
    assert body["state"] == "cancelled" and body["finished_at"]
    again = owner_client.post(f"/api/v1/training-runs/{run.pk}/cancel/")
    assert again.status_code == 409 and again.json()["error"]["details"]["state"] == "cancelled"


def test_cancel_a_running_run_flags_it_for_its_worker(owner_client, brand, snapshot):
    run = TrainingRun.objects.create(brand=brand, snapshot=snapshot, base_model_id="m", state=State.RUNNING)
    body = owner_client.post(f"/api/v1/training-runs/{run.pk}/cancel/").json()
    assert body["state"] == "running" and body["cancel_requested"] is True


def test_retry_requeues_failed_runs_only(owner_client, brand, snapshot, sent, django_capture_on_commit_callbacks):
    run = TrainingRun.objects.create(brand=brand, snapshot=snapshot, base_model_id="m", state=State.FAILED,
                                     attempts=3, error="boom")
    with django_capture_on_commit_callbacks(execute=True):
        body = owner_client.post(f"/api/v1/training-runs/{run.pk}/retry/").json()
    assert body["state"] == "queued" and body["error"] == ""
    assert body["attempts"] == 3 and body["max_attempts"] == 6  # claims keep counting; the budget grows
    assert sent == [run.pk]
    assert owner_client.post(f"/api/v1/training-runs/{run.pk}/retry/").status_code == 409


@pytest.mark.parametrize(("train", "holdout", "reason"), [
    (3, 0, "no held-out pair"),
    (8, 3, "the gate needs at least 5"),
    (0, 6, "no training pair"),
])
def test_a_run_the_gate_could_never_pass_is_refused_before_it_starts(owner_client, brand, sent, train, holdout,
                                                                     reason):
    response = create(owner_client, brand, make_snapshot(brand, train=train, holdout=holdout))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "snapshot_not_gateable" and any(reason in r for r in error["details"]["reasons"])
    assert error["details"]["holdout_pairs"] == holdout and not TrainingRun.objects.exists() and sent == []


def test_continuing_an_adapter_of_another_base_is_refused(owner_client, brand, snapshot, sent, settings, tmp_path):
    from tests.prefcontent.adapters.factories import make_adapter

    settings.PREFCONTENT_BASE_MODEL = "/models/base"
    parent = make_adapter(brand, version=1, tmp_path=tmp_path, base_model_id="/models/an-earlier-base")
    response = create(owner_client, brand, snapshot, parent_adapter=parent.pk)
    assert response.status_code == 400 and "trained on another base model" in response.json()["error"]["message"]
    same = make_adapter(brand, version=2, tmp_path=tmp_path)
    assert create(owner_client, brand, snapshot, parent_adapter=same.pk).status_code == 201
