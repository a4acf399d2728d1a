"""Retrain policies: the beat schedule they keep, when they fire, the concurrency limit, double firing."""
from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from prefcontent.accounts.models import AuditLog
from prefcontent.brands.models import Brand
from prefcontent.brands.settings import brand_settings
from prefcontent.core.errors import InvalidInput
from prefcontent.preferences.models import ACTIVE, EXCLUDED, TRAIN, PreferencePair
from prefcontent.preferences.services import pairs_build_on_demand
from prefcontent.preferences.snapshots import DEFAULT_HOLDOUT_FRACTION, split_for
from prefcontent.tenancy.principal import principal_for_user
from prefcontent.training import policies
from prefcontent.training.cron import cron_fields
from prefcontent.training.models import RetrainPolicy, TrainingRun
from prefcontent.training.tasks import evaluate_retrain_policies
from tests.conftest import client_for_user
from tests.prefcontent.preferences.factories import clear_win
from tests.prefcontent.training.conftest import record_runs_sent

POLICIES = "/api/v1/retrain-policies/"
State = TrainingRun.State


def add_pairs(brand, user, n: int) -> None:
    """n new active pairs for the brand, through the real build path (one clear win each).

    Each lands in the train split: the split hashes the pair (brand name included), and a
    snapshot whose pairs all fell in the holdout is refused, which would make tests depend on ids.
    """
    active = PreferencePair.objects.filter(brand=brand, status=ACTIVE)
    target, attempt = active.count() + n, 0
    while active.count() < target:
        attempt += 1
        experiment = clear_win(brand, winner=f"Fresh kicks number {attempt} for every run {target}",
                               product=f"shoe {attempt}")
        pairs_build_on_demand(principal=principal_for_user(user), experiment=experiment)
        for pair in PreferencePair.objects.filter(experiment=experiment, status=ACTIVE):
            if split_for(pair.pair_hash, DEFAULT_HOLDOUT_FRACTION) != TRAIN:
                PreferencePair.objects.filter(pk=pair.pk).update(status=EXCLUDED, exclusion_reason="test_holdout")
        assert attempt < 50


@pytest.fixture(autouse=True)
def _any_snapshot_is_gateable(monkeypatch):
    """These tests are about scheduling, on snapshots of a pair or two: the gate's feasibility check
    (tests/prefcontent/training/test_api.py) is off; a test that wants it calls monkeypatch.undo()."""
    from prefcontent.training import services

    monkeypatch.setattr(services, "_check_gateable", lambda snapshot: None)


def make_policy(brand, **values) -> RetrainPolicy:
    return RetrainPolicy.objects.create(brand=brand, **{"min_interval_minutes": 0, **values})


@pytest.fixture
def second_brand(org):
    return Brand.objects.create(organization=org, name="Second", slug="second")


# --- the policy's writes keep the beat schedule and the brand setting in step ---------------------------

def test_api_creates_updates_and_deletes_the_beat_task(owner_client, brand):
    response = owner_client.post(POLICIES, {"brand": brand.pk, "cron": "30  4 * * 1", "threshold_pairs": 5,
                                            "auto_promote": False, "priority": 3}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["cron"] == "30 4 * * 1" and body["periodic_task_name"] == f"retrain-policy-{brand.pk}"
    task = PeriodicTask.objects.get(name=f"retrain-policy-{brand.pk}")
    assert task.task == "training.retrain_policy_fire" and json.loads(task.args) == [brand.pk]
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("30", "4", "1")
    brand.refresh_from_db()
    assert brand.settings["auto_promote"] is False and brand_settings(brand).auto_promote is False

    url = f"{POLICIES}{body['id']}/"
    assert owner_client.patch(url, {"cron": "0 */6 * * *", "enabled": False}, format="json").status_code == 200
    task.refresh_from_db()
    assert task.crontab.hour == "*/6" and task.enabled is False
    assert owner_client.patch(url, {"cron": ""}, format="json").json()["periodic_task_name"] is None
    assert not PeriodicTask.objects.filter(name=f"retrain-policy-{brand.pk}").exists()
    owner_client.patch(url, {"cron": "0 3 * * *"}, format="json")
    assert owner_client.delete(url).status_code == 204
    assert not PeriodicTask.objects.filter(name=f"retrain-policy-{brand.pk}").exists()
    assert not RetrainPolicy.objects.exists()
    assert set(AuditLog.objects.filter(action__startswith="retrain_policy.").values_list("action", flat=True)) == {
        "retrain_policy.create", "retrain_policy.update", "retrain_policy.delete"}


@pytest.mark.parametrize(("values", "field"), [
    ({"cron": "61 * * * *"}, "cron"),
    ({"cron": "* * *"}, "cron"),
    ({"hyperparameters": {"no_such_knob": 1}}, "hyperparameters"),
    ({"hyperparameters": {"max_steps": "many"}}, "hyperparameters"),
])
def test_invalid_schedule_or_hyperparameters_are_400(owner_client, brand, values, field):
    response = owner_client.post(POLICIES, {"brand": brand.pk, **values}, format="json")
    assert response.status_code == 400, response.content
    assert not RetrainPolicy.objects.exists() and not PeriodicTask.objects.filter(name__startswith="retrain").exists()


def test_one_policy_per_brand_and_api_keys_are_refused(owner_client, brand, make_key):
    assert owner_client.post(POLICIES, {"brand": brand.pk}, format="json").status_code == 201
    assert owner_client.post(POLICIES, {"brand": brand.pk}, format="json").status_code == 409
    from tests.conftest import client_for_key

    key = client_for_key(make_key(brand, scopes=["content:read", "content:write", "generate"]))
    assert key.get(POLICIES).json()["error"]["code"] == "api_key_not_allowed"


def test_viewer_reads_marketer_writes(org, brand, make_member):
    make_policy(brand, threshold_pairs=4)
    viewer = client_for_user(make_member(org, "viewer"))
    assert [p["threshold_pairs"] for p in viewer.get(POLICIES).json()["results"]] == [4]
    assert viewer.patch(f"{POLICIES}{RetrainPolicy.objects.get().pk}/", {"priority": 1},
                        format="json").status_code == 403
    marketer = client_for_user(make_member(org, "marketer"))
    assert marketer.patch(f"{POLICIES}{RetrainPolicy.objects.get().pk}/", {"priority": 1},
                          format="json").status_code == 200


# --- when a policy fires -----------------------------------------------------------------------------------

def test_threshold_counts_only_pairs_since_the_last_run(brand, owner, no_broker):
    make_policy(brand, threshold_pairs=2, hyperparameters={"max_steps": 7})
    add_pairs(brand, owner, 1)
    assert evaluate_retrain_policies() == {"started": {}, "skipped": {brand.pk: "not due"}}
    add_pairs(brand, owner, 1)
    result = evaluate_retrain_policies()
    run = TrainingRun.objects.get()
    assert result["started"] == {brand.pk: run.pk}
    assert run.state == State.QUEUED and run.hyperparameters["max_steps"] == 7 and run.created_by is None
    assert run.snapshot.counts["pairs"] == 2
    policy = RetrainPolicy.objects.get()
    assert policy.last_run == run and policy.last_outcome.startswith(f"started run {run.pk} (threshold)")

    TrainingRun.objects.filter(pk=run.pk).update(state=State.SUCCEEDED)
    add_pairs(brand, owner, 1)  # one new pair since the run: below the threshold again
    assert evaluate_retrain_policies()["skipped"] == {brand.pk: "not due"}
    add_pairs(brand, owner, 1)
    assert len(evaluate_retrain_policies()["started"]) == 1


def test_min_interval_and_a_busy_brand_hold_a_due_policy_back(brand, owner, no_broker):
    make_policy(brand, threshold_pairs=1, min_interval_minutes=30)
    add_pairs(brand, owner, 1)
    assert policies.retrain_policies_evaluate().started
    assert policies.retrain_policies_evaluate().skipped[brand.pk].startswith("waiting: the brand already has")

    TrainingRun.objects.update(state=State.FAILED)
    add_pairs(brand, owner, 1)
    assert policies.retrain_policies_evaluate().skipped[brand.pk] == "waiting: minimum interval since the last run"
    later = timezone.now() + timedelta(minutes=31)
    assert brand.pk in policies.retrain_policies_evaluate(now=later).started
    assert TrainingRun.objects.count() == 2


def test_disabled_policy_never_fires(brand, owner, no_broker):
    make_policy(brand, threshold_pairs=1, enabled=False)
    add_pairs(brand, owner, 2)
    assert policies.retrain_policies_evaluate().started == {}
    assert not TrainingRun.objects.exists()


def test_cron_fire_marks_due_and_starts_even_below_threshold(brand, owner, no_broker):
    from prefcontent.training.tasks import retrain_policy_fire

    make_policy(brand, cron="0 3 * * *", threshold_pairs=100)
    add_pairs(brand, owner, 1)
    assert policies.retrain_policies_evaluate().skipped[brand.pk] == "not due"
    result = retrain_policy_fire(brand.pk)
    run = TrainingRun.objects.get()
    assert result["started"] == {brand.pk: run.pk}
    policy = RetrainPolicy.objects.get()
    assert policy.cron_due_at is None and "(cron)" in policy.last_outcome


def test_cron_due_policy_keeps_waiting_when_it_cannot_start(brand, no_broker):
    make_policy(brand, cron="0 3 * * *")  # no pairs at all: the snapshot refuses
    policies.retrain_policy_fire(brand_id=brand.pk)
    policy = RetrainPolicy.objects.get()
    assert policy.cron_due_at is not None and "no usable preference pairs" in policy.last_outcome
    assert not TrainingRun.objects.exists()


def test_same_dataset_is_not_queued_twice(brand, owner, no_broker):
    """A run of identical content (say, a human started it on an older snapshot) blocks a policy run."""
    make_policy(brand, cron="* * * * *")
    add_pairs(brand, owner, 1)
    policy = RetrainPolicy.objects.get()
    policy.cron_due_at = timezone.now()
    policy.save()
    first = policies._start_run(policy, "cron", timezone.now())
    with pytest.raises(policies._SameDataset):
        policies._start_run(policy, "cron", timezone.now())
    assert list(TrainingRun.objects.values_list("pk", flat=True)) == [first.pk]


def test_concurrency_limit_and_priority_decide_who_starts(settings, org, brand, second_brand, owner, no_broker):
    settings.TRAINING_MAX_CONCURRENT_RUNS = 1
    make_policy(brand, threshold_pairs=1, priority=0)
    make_policy(second_brand, threshold_pairs=1, priority=5)
    add_pairs(brand, owner, 1)
    add_pairs(second_brand, owner, 1)
    result = policies.retrain_policies_evaluate()
    assert list(result.started) == [second_brand.pk]
    assert result.skipped[brand.pk] == "due (threshold); waiting for a free training slot"
    assert policies.retrain_policies_evaluate().started == {}  # the slot is still taken
    TrainingRun.objects.update(state=State.SUCCEEDED)
    assert list(policies.retrain_policies_evaluate().started) == [brand.pk]


def test_limit_defaults_to_two_and_reads_the_environment(settings, monkeypatch):
    assert policies.max_concurrent_runs() == 2
    monkeypatch.setenv("TRAINING_MAX_CONCURRENT_RUNS", "5")
    assert policies.max_concurrent_runs() == 5
    settings.TRAINING_MAX_CONCURRENT_RUNS = 3
    assert policies.max_concurrent_runs() == 3


@pytest.mark.django_db(transaction=True)
def test_scheduler_firing_twice_at_once_starts_one_run(org, brand, owner, no_broker, monkeypatch):
    make_policy(brand, threshold_pairs=1)
    add_pairs(brand, owner, 1)
    real_start = policies._start_run

    def slow_start(*args, **kwargs):
        run = real_start(*args, **kwargs)
        time.sleep(0.5)  # both evaluations would be past their checks by now without the row locks
        return run

    monkeypatch.setattr(policies, "_start_run", slow_start)
    barrier, results, errors = threading.Barrier(2), [], []

    def evaluate():
        try:
            barrier.wait()
            results.append(policies.retrain_policies_evaluate())
        except Exception as exc:  # noqa: BLE001  (surfaced below; a thread's exception is otherwise lost)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=evaluate) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert TrainingRun.objects.count() == 1
    assert sorted(len(r.started) for r in results) == [0, 1]
    assert no_broker == [TrainingRun.objects.get().pk]  # enqueued once, after the commit


def test_validate_rejects_bad_cron_directly():
    with pytest.raises(InvalidInput):
        cron_fields("0 25 * * *")
    assert cron_fields("5 4 * * sun")["day_of_week"] == "sun"


def test_a_due_policy_whose_snapshot_the_gate_could_never_pass_waits_and_says_why(brand, owner, monkeypatch):
    monkeypatch.undo()  # the real feasibility check, and the broker patched away again
    sent = record_runs_sent(monkeypatch)
    make_policy(brand, threshold_pairs=1)
    add_pairs(brand, owner, 2)  # every pair in the train split: nothing held out
    result = policies.retrain_policies_evaluate()
    assert not result.started and "cannot pass the promotion gate" in result.skipped[brand.pk]
    assert "no held-out pair" in RetrainPolicy.objects.get().last_outcome and not TrainingRun.objects.exists()
    assert sent == []
