"""Fault tests against a real `celery worker` subprocess on the real broker and the test database."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from models_store import get_store
from prefcontent.adapters.models import AdapterVersion
from prefcontent.training.models import TrainingRun
from prefcontent.training.services import training_runs_reap
from tests.prefcontent.training.conftest import FAST_HP
from tests.prefcontent.training.factories import make_snapshot
from tests.worker import CeleryWorker

pytestmark = pytest.mark.django_db(transaction=True)
LEASE_S = 3


@pytest.fixture
def workers(settings, tiny_model_dir):
    """Start real workers on demand (short lease, tiny base model); all are stopped at the end."""
    settings.PREFCONTENT_BASE_MODEL = str(tiny_model_dir)
    started: list[CeleryWorker] = []

    def start(concurrency: int = 1, **env) -> CeleryWorker:
        worker = CeleryWorker(concurrency=concurrency, extra_env={
            "MODELS_STORE_URL": settings.MODELS_STORE_URL, "PREFCONTENT_WORK_DIR": str(settings.WORK_DIR),
            "PREFCONTENT_BASE_MODEL": str(tiny_model_dir), "TRAINING_LEASE_SECONDS": LEASE_S,
            "TRAINING_HEARTBEAT_SECONDS": 0.5, "OMP_NUM_THREADS": 1, **env})
        started.append(worker)
        worker.start()
        return worker

    yield start
    for worker in started:
        worker.stop()


def start_run(client, brand, **hp) -> int:
    response = client.post("/api/v1/training-runs/", {"brand": brand.pk, "snapshot": make_snapshot(brand).pk,
                                                      "hyperparameters": {**FAST_HP, **hp}}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def wait_for(predicate, timeout: float, what: str, worker: CeleryWorker | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}\n{worker.log() if worker else ''}")


def checkpoint_step(run: TrainingRun) -> int:
    """The step of the newest checkpoint the row names ("training/run-1/checkpoints/step-000010" -> 10)."""
    return int(run.checkpoint_key.rsplit("-", 1)[-1]) if run.checkpoint_key else 0


def run_row(run_id: int) -> TrainingRun:
    return TrainingRun.objects.get(pk=run_id)


@pytest.mark.slow
def test_kill_9_mid_run_is_reaped_resumed_from_its_checkpoint_and_publishes_once(owner_client, brand, workers):
    worker = workers()
    run_id = start_run(owner_client, brand, max_steps=60, checkpoint_every=5)
    wait_for(lambda: checkpoint_step(run_row(run_id)) >= 10, 90, "a checkpoint at step 10 or later", worker)
    worker.kill()
    killed = run_row(run_id)
    assert killed.state == "running" and killed.step < 60
    wait_for(lambda: run_row(run_id).lease_expires_at < timezone.now(), LEASE_S + 5, "lease expiry")
    second = workers()  # before reaping: starting a worker purges the queues
    assert training_runs_reap()["requeued"] == 1
    wait_for(lambda: run_row(run_id).is_terminal, 120, "the resumed run to finish", second)
    run = run_row(run_id)
    assert run.state == "succeeded", (run.error, second.log()[-3000:])
    assert run.attempts == 2 and AdapterVersion.objects.filter(brand=brand).count() == 1
    assert [m["step"] for m in run.metrics] == list(range(1, 61))
    attempts = [m["attempt"] for m in run.metrics]
    resumed_at = attempts.index(2)  # first step the second attempt ran
    assert resumed_at >= 10 and resumed_at % 5 == 0, attempts  # right after a checkpoint, not from scratch
    assert set(attempts[resumed_at:]) == {2}


@pytest.mark.slow
def test_the_same_run_delivered_twice_executes_once(owner_client, brand, workers):
    from prefcontent.training.tasks import training_run_execute

    worker = workers(concurrency=2)
    run_id = start_run(owner_client, brand)
    training_run_execute.delay(run_id)
    wait_for(lambda: run_row(run_id).is_terminal, 90, "the run to finish", worker)
    wait_for(lambda: "'skipped'" in worker.log(), 30, "the duplicate to be skipped", worker)
    assert run_row(run_id).state == "succeeded" and run_row(run_id).attempts == 1
    assert AdapterVersion.objects.filter(brand=brand).count() == 1


@pytest.mark.slow
def test_a_heartbeating_run_is_not_reaped_and_cancel_takes_effect_within_seconds(owner_client, brand, workers):
    worker = workers()
    run_id = start_run(owner_client, brand, max_steps=2000, checkpoint_every=50)
    wait_for(lambda: run_row(run_id).step >= 3, 90, "progress", worker)
    time.sleep(LEASE_S + 1)  # longer than one lease: only the heartbeat keeps it
    assert training_runs_reap()["requeued"] == 0
    assert run_row(run_id).lease_expires_at > timezone.now() + timedelta(seconds=LEASE_S / 3)
    asked = time.monotonic()
    assert owner_client.post(f"/api/v1/training-runs/{run_id}/cancel/").status_code == 200
    wait_for(lambda: run_row(run_id).state == "cancelled", 10, "the cancel", worker)
    assert time.monotonic() - asked < 10
    assert run_row(run_id).step < 2000
    assert not AdapterVersion.objects.exists() and get_store(settings.MODELS_STORE_URL).list() == []


@pytest.mark.slow
def test_a_forbidden_store_fails_the_run_cleanly(owner_client, brand, workers, tmp_path):
    (tmp_path / "a-file").write_text("not a directory")
    worker = workers(MODELS_STORE_URL=str(tmp_path / "a-file" / "store"))
    run_id = start_run(owner_client, brand)
    wait_for(lambda: run_row(run_id).is_terminal, 90, "the run to finish", worker)
    run = run_row(run_id)
    assert run.state == "failed" and "Publishing the adapter failed; nothing was published" in run.error
    assert not AdapterVersion.objects.exists()
