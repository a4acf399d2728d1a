"""Ops: the queue view, requeueing a stuck run, the "done when" path of retrain policies, and the admin."""
from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from prefcontent.accounts.models import ApiKey, AuditLog, UserToken
from prefcontent.generation.models import GenerationJob
from prefcontent.training.models import RetrainPolicy, TrainingRun
from prefcontent.training.tasks import evaluate_retrain_policies
from tests.conftest import client_for_user
from tests.factories import BrandFactory, MembershipFactory
from tests.prefcontent.training.factories import make_snapshot
from tests.prefcontent.training.test_policies import add_pairs

QUEUE = "/api/v1/ops/queue"
State = TrainingRun.State


def _run(brand, state, owner=""):
    return TrainingRun.objects.create(brand=brand, snapshot=make_snapshot(brand, train=2, holdout=1),
                                      base_model_id="m", state=state, lease_owner=owner, attempts=1)


def _job(brand, state):
    return GenerationJob.objects.create(brand=brand, channel="headline", prompt="p", prompt_version="v1", state=state)


# --- the "done when": a threshold policy fires by itself; ops queue and /metrics show the run --------------

def test_threshold_policy_fires_and_the_run_shows_in_ops_queue_and_metrics(owner_client, brand, owner, no_broker,
                                                                           client, monkeypatch):
    from prefcontent.training import services

    monkeypatch.setattr(services, "_check_gateable", lambda snapshot: None)  # add_pairs holds nothing out
    response = owner_client.post("/api/v1/retrain-policies/", {"brand": brand.pk, "threshold_pairs": 3},
                                 format="json")
    assert response.status_code == 201
    add_pairs(brand, owner, 2)
    evaluate_retrain_policies()
    assert not TrainingRun.objects.exists()

    add_pairs(brand, owner, 1)
    evaluate_retrain_policies()
    run = TrainingRun.objects.get()
    assert run.state == State.QUEUED and run.brand == brand

    queue = owner_client.get(QUEUE).json()
    assert queue["training_by_state"]["queued"] == 1 and queue["training_by_state"]["running"] == 0
    assert [q["id"] for q in queue["queued"]] == [run.pk] and queue["queued"][0]["age_s"] >= 0
    metrics = client.get("/metrics").content.decode()
    assert 'prefcontent_training_runs{state="queued"} 1.0' in metrics


# --- GET /api/v1/ops/queue -----------------------------------------------------------------------------

def test_queue_counts_runs_by_state_worker_and_age_and_jobs_by_state(owner_client, brand):
    running = [_run(brand, State.RUNNING, "gpu-1"), _run(brand, State.RUNNING, "gpu-1"),
               _run(brand, State.RUNNING, "gpu-2")]
    queued = [_run(brand, State.QUEUED), _run(brand, State.QUEUED)]
    _run(brand, State.FAILED)
    _job(brand, "queued"), _job(brand, "queued"), _job(brand, "running")
    other = BrandFactory()  # another organization: never counted
    _run(other, State.QUEUED), _job(other, "queued")

    body = owner_client.get(QUEUE).json()
    assert body["brand_ids"] == [brand.pk] and body["max_concurrent_runs"] == 2
    assert {k: v for k, v in body["training_by_state"].items() if v} == {"running": 3, "queued": 2, "failed": 1}
    assert set(body["training_by_state"]) == set(State.values)
    assert body["running_by_worker"] == {"gpu-1": [running[0].pk, running[1].pk], "gpu-2": [running[2].pk]}
    assert [q["id"] for q in body["queued"]] == [r.pk for r in queued]
    assert body["generation_by_state"]["queued"] == 2 and body["generation_by_state"]["running"] == 1


@pytest.mark.parametrize(("role", "status"), [("ops", 200), ("admin", 200), ("marketer", 403), ("viewer", 403)])
def test_queue_needs_ops_read(org, brand, make_member, role, status):
    assert client_for_user(make_member(org, role)).get(QUEUE).status_code == status


def test_queue_covers_only_orgs_with_ops_rights(org, brand, make_member):
    user = make_member(org, "marketer")
    elsewhere = BrandFactory()
    MembershipFactory(organization=elsewhere.organization, user=user, role="ops")
    _run(brand, State.QUEUED)
    body = client_for_user(user).get(QUEUE).json()
    assert body["brand_ids"] == [elsewhere.pk] and body["training_by_state"]["queued"] == 0


def test_queue_refuses_api_keys(brand, make_key):
    from tests.conftest import client_for_key

    assert client_for_key(make_key(brand)).get(QUEUE).json()["error"]["code"] == "api_key_not_allowed"


# --- POST /api/v1/training-runs/{id}/requeue/ ------------------------------------------------------------

def test_requeue_clears_the_lease_of_a_stuck_run(owner_client, brand, no_broker, django_capture_on_commit_callbacks):
    run = _run(brand, State.RUNNING, "gpu-stuck")
    TrainingRun.objects.filter(pk=run.pk).update(attempts=3, max_attempts=3)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(f"/api/v1/training-runs/{run.pk}/requeue/")
    assert response.status_code == 200, response.content
    run.refresh_from_db()
    assert (run.state, run.lease_owner, run.lease_expires_at) == (State.QUEUED, "", None)
    assert run.max_attempts == 4  # one more claim, so a worker may take it
    assert no_broker == [run.pk]
    audit = AuditLog.objects.get(action="training_run.requeue")
    assert audit.target_id == str(run.pk) and audit.data == {"lease_owner": "gpu-stuck"}


def test_requeue_only_running_runs_and_only_for_ops(org, brand, owner_client, make_member):
    queued = _run(brand, State.QUEUED)
    response = owner_client.post(f"/api/v1/training-runs/{queued.pk}/requeue/")
    assert response.status_code == 409 and response.json()["error"]["details"] == {"state": "queued"}
    running = _run(brand, State.RUNNING, "gpu-1")
    marketer = client_for_user(make_member(org, "marketer"))
    assert marketer.post(f"/api/v1/training-runs/{running.pk}/requeue/").status_code == 403
    assert client_for_user(make_member(org, "ops")).post(
        f"/api/v1/training-runs/{running.pk}/requeue/").status_code == 200


# --- the Django admin ------------------------------------------------------------------------------------

@pytest.fixture
def admin_client_(db):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123-xyz")
    client = Client()
    client.force_login(user)
    return client


OUR_APPS = {"accounts", "brands", "content", "experiments", "preferences", "training", "adapters", "generation"}


def test_every_model_of_every_app_has_a_working_admin(admin_client_, brand):
    from django.apps import apps

    for label in OUR_APPS:
        for model in apps.get_app_config(label).get_models():
            assert admin.site.is_registered(model), model
            url = reverse(f"admin:{label}_{model._meta.model_name}_changelist")
            response = admin_client_.get(url, {"q": "x"})
            assert response.status_code == 200, (url, response.status_code)


def test_admin_never_shows_secret_hashes(admin_client_, brand, make_key, owner):
    make_key(brand)
    key = ApiKey.objects.get()
    token = UserToken.objects.create(user=owner, prefix="tok_abc", secret_hash="f" * 64)
    for url in (reverse("admin:accounts_apikey_change", args=[key.pk]),
                reverse("admin:accounts_usertoken_change", args=[token.pk]),
                reverse("admin:accounts_apikey_changelist")):
        page = admin_client_.get(url).content.decode()
        assert key.secret_hash not in page and "f" * 64 not in page and "secret_hash" not in page


def test_admin_policy_save_validates_and_syncs_the_beat_task(admin_client_, brand):
    url = reverse("admin:training_retrainpolicy_add")
    form = {"brand": brand.pk, "enabled": "on", "cron": "0 3 * * *", "threshold_pairs": "", "priority": 1,
            "min_interval_minutes": 60, "hyperparameters": "{}"}
    bad = admin_client_.post(url, {**form, "cron": "0 99 * * *"})
    assert bad.status_code == 200 and not RetrainPolicy.objects.exists()  # re-rendered with the error
    assert admin_client_.post(url, {**form, "hyperparameters": '{"bogus": 1}'}).status_code == 200
    assert not RetrainPolicy.objects.exists()

    assert admin_client_.post(url, form).status_code == 302
    policy = RetrainPolicy.objects.get()
    task = PeriodicTask.objects.get(name=f"retrain-policy-{brand.pk}")
    assert task.crontab.hour == "3" and policy.periodic_task == task
    brand.refresh_from_db()
    assert brand.settings["auto_promote"] is False  # the unchecked box

    delete = reverse("admin:training_retrainpolicy_delete", args=[policy.pk])
    assert admin_client_.post(delete, {"post": "yes"}).status_code == 302
    assert not PeriodicTask.objects.filter(name__startswith="retrain-policy-").exists()
