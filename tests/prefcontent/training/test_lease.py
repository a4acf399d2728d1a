"""Claiming, heartbeat and reaping: the job-row protocol without any training."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from prefcontent.training.conf import training_settings
from prefcontent.training.lease import LeaseKeeper, training_run_claim
from prefcontent.training.models import TrainingRun
from prefcontent.training.services import training_runs_reap
from tests.prefcontent.training.conftest import record_runs_sent
from tests.prefcontent.training.factories import make_snapshot

State = TrainingRun.State


@pytest.fixture
def run(brand):
    return TrainingRun.objects.create(brand=brand, snapshot=make_snapshot(brand, train=2, holdout=1),
                                      base_model_id="m", enqueued_at=timezone.now())


@pytest.fixture(autouse=True)
def _no_broker(sent_tasks):
    return sent_tasks


def test_one_claim_wins_and_a_duplicate_finds_it_leased(run):
    cfg = training_settings()
    first = training_run_claim(run_id=run.pk, owner="w1", cfg=cfg)
    assert first.state == State.RUNNING and first.lease_owner == "w1" and first.attempts == 1
    assert first.lease_expires_at > timezone.now() + timedelta(seconds=cfg.lease_s - 5)
    assert training_run_claim(run_id=run.pk, owner="w2", cfg=cfg) is None
    run.refresh_from_db()
    assert run.lease_owner == "w1" and run.attempts == 1


def test_heartbeat_renews_reads_cancel_and_notices_a_lost_lease(run):
    cfg = training_settings()
    training_run_claim(run_id=run.pk, owner="w1", cfg=cfg)
    TrainingRun.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now())
    keeper = LeaseKeeper(run.pk, "w1", cfg)
    keeper.beat()
    run.refresh_from_db()
    assert run.lease_expires_at > timezone.now() + timedelta(seconds=cfg.lease_s - 5)
    assert not keeper.should_stop()
    TrainingRun.objects.filter(pk=run.pk).update(cancel_requested=True)
    keeper.beat()
    assert keeper.cancelled.is_set() and keeper.should_stop()
    TrainingRun.objects.filter(pk=run.pk).update(lease_owner="w2")
    keeper.beat()
    assert keeper.lost.is_set()


def expire(run):
    TrainingRun.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))


def test_reaper_requeues_expired_runs_until_the_attempt_limit(run):
    cfg = training_settings()
    for attempt in range(1, run.max_attempts + 1):
        assert training_run_claim(run_id=run.pk, owner=f"w{attempt}", cfg=cfg) is not None
        expire(run)
        counts = training_runs_reap()
        run.refresh_from_db()
        if attempt < run.max_attempts:
            assert counts["requeued"] == 1 and run.state == State.QUEUED and run.lease_owner == ""
            assert "lost its worker" in run.error
    assert run.state == State.FAILED and counts["failed"] == 1 and "giving up" in run.error


def test_reaper_leaves_live_leases_alone_and_cancels_abandoned_cancelled_runs(run):
    training_run_claim(run_id=run.pk, owner="w1", cfg=training_settings())
    assert training_runs_reap()["requeued"] == 0
    TrainingRun.objects.filter(pk=run.pk).update(cancel_requested=True)
    expire(run)
    assert training_runs_reap()["cancelled"] == 1
    run.refresh_from_db()
    assert run.state == State.CANCELLED


def test_reaper_resends_queued_runs_nobody_took(run, settings, monkeypatch):
    sent = record_runs_sent(monkeypatch)
    settings.TRAINING_REQUEUE_AFTER_SECONDS = 60
    assert training_runs_reap()["enqueued"] == 0
    TrainingRun.objects.filter(pk=run.pk).update(enqueued_at=timezone.now() - timedelta(seconds=61))
    assert training_runs_reap()["enqueued"] == 1 and sent == [run.pk]
