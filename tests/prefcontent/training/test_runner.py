"""A run executed in-process on the tiny model: train, gate, publish, promote; cancel, resume, store failure."""
from __future__ import annotations

import errno
from pathlib import Path

import pytest
from django.conf import settings

from models_store import get_store
from prefcontent.adapters.models import AdapterVersion
from prefcontent.adapters.selectors import adapter_active_for, adapter_local_path
from prefcontent.training.models import TrainingRun
from prefcontent.training.runner import run_dir, training_run_execute
from tests.prefcontent.training.conftest import FAST_HP
from tests.prefcontent.training.factories import make_snapshot

pytestmark = pytest.mark.django_db(transaction=True)
State = TrainingRun.State


def start(client, brand, snapshot, **hp) -> int:
    response = client.post("/api/v1/training-runs/", {"brand": brand.pk, "snapshot": snapshot.pk,
                                                      "hyperparameters": {**FAST_HP, **hp}}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_end_to_end_through_the_api(owner_client, brand, training_env, no_broker):
    run_id = start(owner_client, brand, make_snapshot(brand))
    assert no_broker == [run_id]
    assert training_run_execute(run_id=run_id) == State.SUCCEEDED
    body = owner_client.get(f"/api/v1/training-runs/{run_id}/").json()
    assert body["state"] == "succeeded" and body["step"] == body["total_steps"] == 6 and body["progress"] == 1.0
    assert [m["step"] for m in body["metrics"]] == [1, 2, 3, 4, 5, 6]
    assert all("loss" in m and "reward_accuracy" in m for m in body["metrics"])
    assert body["metrics"][-1]["loss"] < body["metrics"][0]["loss"]
    assert body["holdout"]["pairs"] == 8 and body["holdout"]["reward_accuracy"] == 1.0
    adapter = AdapterVersion.objects.get(pk=body["adapter_version"])
    assert adapter.version == 1 and adapter.status == "active" and adapter_active_for(brand) == adapter
    assert adapter.artifact_key == f"brands/{brand.pk}/adapters/v1"
    report = adapter.eval_report
    assert report["passed"] and report["summary"]["held_out_briefs"] == 8 and report["summary"]["baseline"] == "base"
    assert all({"value", "threshold", "passed"} <= set(c) for c in report["checks"])
    assert "adapter v1" in adapter.model_card and "Intended use and limits" in adapter.model_card
    assert (adapter_local_path(adapter) / "adapter_config.json").is_file()
    assert not run_dir(run_id).exists()  # checkpoints are dropped once the adapter is published


def test_succeeded_and_promoted_are_one_commit(owner_client, brand, training_env, no_broker, monkeypatch):
    """A client that sees the run succeeded also sees its adapter active: if the promotion cannot be
    written, neither is the success (nor the adapter row)."""
    from prefcontent.training import runner

    def broken_promote(*, adapter):
        raise RuntimeError("database went away")

    monkeypatch.setattr(runner, "adapter_auto_promote", broken_promote)
    run_id = start(owner_client, brand, make_snapshot(brand))
    assert training_run_execute(run_id=run_id) == State.FAILED
    run = TrainingRun.objects.get(pk=run_id)
    assert run.state == State.FAILED and "database went away" in run.error
    assert not AdapterVersion.objects.filter(brand=brand).exists()


def test_a_failing_gate_rejects_with_readable_reasons(owner_client, brand, training_env, no_broker):
    from tests.metrics_scrape import change_since, scrape

    training_env.ADAPTER_GATE = {"min_reward_accuracy": 1.01}
    run_id = start(owner_client, brand, make_snapshot(brand))
    before = scrape()
    assert training_run_execute(run_id=run_id) == State.REJECTED
    delta = change_since(before)
    assert delta("prefcontent_gate_checks_total", brand=brand.pk, check="reward_accuracy", result="failed") == 1
    assert delta("prefcontent_run_duration_seconds_count", kind="training", outcome="rejected") == 1
    assert delta("prefcontent_adapters_promoted_total", brand=brand.pk, how="auto") == 0
    run = TrainingRun.objects.get(pk=run_id)
    assert run.error.startswith("Promotion gate failed: reward_accuracy: held-out reward accuracy on 8 pairs")
    adapter = run.adapter_version
    assert adapter.status == "rejected" and adapter.eval_report["reasons"] and adapter_active_for(brand) is None
    assert "[FAIL] reward_accuracy" in adapter.model_card


def test_without_auto_promote_a_passing_candidate_waits_and_a_later_run_compares_with_the_active(
        owner_client, brand, training_env, no_broker):
    brand.settings = {"auto_promote": False}
    brand.save()
    snapshot = make_snapshot(brand)
    first = start(owner_client, brand, snapshot)
    assert training_run_execute(run_id=first) == State.SUCCEEDED
    v1 = AdapterVersion.objects.get(run_id=first)
    assert v1.status == "candidate" and adapter_active_for(brand) is None
    assert owner_client.post(f"/api/v1/adapters/{v1.pk}/promote/").status_code == 200
    brand.settings = {}
    brand.save()
    second = start(owner_client, brand, snapshot)
    assert training_run_execute(run_id=second) == State.SUCCEEDED
    v2 = AdapterVersion.objects.get(run_id=second)
    assert v2.version == 2 and v2.eval_report["summary"]["baseline"] == "active adapter v1"
    assert dict(AdapterVersion.objects.values_list("version", "status")) == {1: "retired", 2: "active"}


def test_continue_training_from_a_parent_adapter(owner_client, brand, training_env, no_broker):
    snapshot = make_snapshot(brand)
    assert training_run_execute(run_id=start(owner_client, brand, snapshot)) == State.SUCCEEDED
    parent = adapter_active_for(brand)
    response = owner_client.post("/api/v1/training-runs/", {
        "brand": brand.pk, "snapshot": snapshot.pk, "parent_adapter": parent.pk,
        "hyperparameters": {**FAST_HP, "max_steps": 2}}, format="json")
    assert response.status_code == 201, response.content
    assert training_run_execute(run_id=response.json()["id"]) in (State.SUCCEEDED, State.REJECTED)
    child = AdapterVersion.objects.get(run_id=response.json()["id"])
    assert child.version == 2 and "parent_adapter_version" in child.model_card


def test_a_duplicate_delivery_does_nothing(owner_client, brand, training_env, no_broker):
    run_id = start(owner_client, brand, make_snapshot(brand))
    assert training_run_execute(run_id=run_id) == State.SUCCEEDED
    assert training_run_execute(run_id=run_id) == "skipped"
    assert AdapterVersion.objects.count() == 1 and TrainingRun.objects.get(pk=run_id).attempts == 1


def test_cancel_mid_run_publishes_nothing_and_retry_resumes_from_the_checkpoint(
        owner_client, brand, training_env, no_broker, monkeypatch):
    from prefcontent.training import runner

    real = runner._Progress.__call__

    def cancel_at_step_2(self, record):
        real(self, record)
        if record["step"] == 2 and self.run.attempts == 1:
            owner_client.post(f"/api/v1/training-runs/{self.run.pk}/cancel/")

    monkeypatch.setattr(runner._Progress, "__call__", cancel_at_step_2)
    run_id = start(owner_client, brand, make_snapshot(brand), max_steps=40)
    assert training_run_execute(run_id=run_id) == State.CANCELLED
    run = TrainingRun.objects.get(pk=run_id)
    stopped = run.step
    assert run.state == "cancelled" and 2 <= stopped < 40
    assert run.checkpoint_key == f"training/run-{run_id}/checkpoints/step-{stopped:06d}"
    assert not AdapterVersion.objects.exists() and not get_store(settings.MODELS_STORE_URL).list()
    assert owner_client.post(f"/api/v1/training-runs/{run_id}/retry/").status_code == 200
    assert training_run_execute(run_id=run_id) == State.SUCCEEDED
    run.refresh_from_db()
    assert [m["step"] for m in run.metrics] == list(range(1, 41))
    # Steps up to the checkpoint came from the first attempt: the second resumed instead of restarting.
    assert [m["attempt"] for m in run.metrics] == [1] * stopped + [2] * (40 - stopped)
    assert AdapterVersion.objects.get().run_id == run_id


@pytest.mark.parametrize("failure", ["full", "forbidden"])
def test_store_failure_during_publish_fails_the_run_cleanly(owner_client, brand, training_env, no_broker,
                                                            monkeypatch, tmp_path, failure):
    if failure == "full":
        from models_store import local

        def disk_full(src, dst):
            Path(dst).write_bytes(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(local, "_copy_file", disk_full)
    else:  # a path through a regular file: the store cannot create its directories, even as root
        (tmp_path / "not-a-dir").write_text("x")
        training_env.MODELS_STORE_URL = str(tmp_path / "not-a-dir" / "store")
    run_id = start(owner_client, brand, make_snapshot(brand))
    assert training_run_execute(run_id=run_id) == State.FAILED
    run = TrainingRun.objects.get(pk=run_id)
    assert run.error.startswith("Publishing the adapter failed; nothing was published")
    assert not AdapterVersion.objects.exists()
    if failure == "full":
        store_root = Path(settings.MODELS_STORE_URL)
        assert get_store(store_root).list() == []
        assert not any((store_root / ".tmp").iterdir())


def test_json_safe_drops_what_jsonb_refuses():
    from prefcontent.training.runner import json_safe

    assert json_safe({"loss": float("nan"), "t": ["a\x00b"], "n": (1, float("inf"))}) == {
        "loss": None, "t": ["a\ufffdb"], "n": [1, None]}


def test_a_worker_that_lost_its_lease_writes_nothing(owner_client, brand, training_env, no_broker, monkeypatch):
    from prefcontent.training import runner

    real = runner._Progress.__call__

    def reaped_at_step_2(self, record):
        if record["step"] == 2:  # the reaper gave the run to someone else meanwhile
            TrainingRun.objects.filter(pk=self.run.pk).update(lease_owner="another-worker")
        real(self, record)

    monkeypatch.setattr(runner._Progress, "__call__", reaped_at_step_2)
    run_id = start(owner_client, brand, make_snapshot(brand), max_steps=40)
    assert training_run_execute(run_id=run_id) == "lease_lost"
    run = TrainingRun.objects.get(pk=run_id)
    assert run.state == "running" and run.lease_owner == "another-worker" and run.step < 40
    assert not AdapterVersion.objects.exists()


def test_a_real_run_records_its_steps_gate_checks_promotion_duration_and_queue_wait(
        owner_client, brand, training_env, no_broker):
    from tests.metrics_scrape import change_since, scrape

    run_id = start(owner_client, brand, make_snapshot(brand))
    before = scrape()
    assert training_run_execute(run_id=run_id) == State.SUCCEEDED
    delta = change_since(before)

    assert delta("prefcontent_training_step_seconds_count") == 6
    assert delta("prefcontent_training_step_seconds_sum") > 0
    checks = AdapterVersion.objects.get(run_id=run_id).eval_report["checks"]
    for check in checks:
        assert delta("prefcontent_gate_checks_total", brand=brand.pk, check=check["name"], result="passed") == 1
    assert delta("prefcontent_adapters_promoted_total", brand=brand.pk, how="auto") == 1
    assert delta("prefcontent_run_duration_seconds_count", kind="training", outcome="succeeded") == 1
    assert delta("prefcontent_queue_wait_seconds_count", kind="training") == 1


def test_the_gate_also_judges_the_briefs_the_brand_generates_for(owner_client, brand, training_env, no_broker):
    """The held-out briefs are the tested copy's; the candidate is sampled on the brand's recent briefs too (with
    their facts, so the claim check runs there) and those generations are checked apart."""
    from prefcontent.content.models import Brief
    from prefcontent.generation.models import GenerationJob

    offer = Brief.objects.create(brand=brand, title="winter sale", product="trail shoes",
                                 facts={"offer": {"discount_percent": 10}})
    plain = Brief.objects.create(brand=brand, title="no offer", product="rain jackets")
    # The same brief twice: sampled once, as its newest job asked (the plain brief's job asked for the defaults).
    for brief, params in ((offer, {"temperature": 1.3}), (plain, {}), (offer, {"temperature": 0.7, "top_p": 0.9})):
        GenerationJob.objects.create(brand=brand, brief=brief, channel="headline", prompt="old rendering",
                                     prompt_version="v0", params=params)
    run_id = start(owner_client, brand, make_snapshot(brand))
    training_run_execute(run_id=run_id)
    report = TrainingRun.objects.get(pk=run_id).adapter_version.eval_report
    summary = report["summary"]
    assert summary["recent_briefs"] == [
        {"brief_id": offer.pk, "channel": "headline", "temperature": 0.7, "top_p": 0.9},
        {"brief_id": plain.pk, "channel": "headline", "temperature": 0.9, "top_p": 0.95}]
    # 16 generations a recent brief (4 seeds of 4), 4 a held-out one.
    assert summary["recent"]["generations"] == 2 * 16 and summary["generations"] == 8 * 4
    # Only the brief with facts is judged for claims: its 16 generations.
    assert summary["recent"]["unsupported_claim_rate"]["judged_generations"] == 16
    names = [c["name"] for c in report["checks"]]
    assert {"distinct_2_recent", "well_formed_rate_recent", "compliance_violation_rate_recent",
            "unsupported_claim_rate_recent"} <= set(names)
    assert "unsupported_claim_rate" not in names  # the held-out briefs carry no facts
    recent = next(c for c in report["checks"] if c["name"] == "distinct_2_recent")
    assert recent["detail"].startswith("recent briefs: distinct-2")
