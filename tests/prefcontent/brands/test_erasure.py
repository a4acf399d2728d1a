"""Erasure and portability: a deleted brand leaves no row and no artifact behind; an export carries it all."""
import json
import time

import pytest
from django.test import TestCase

from models_store import get_store
from prefcontent.accounts.models import ApiKey
from prefcontent.brands.compliance_services import compliance_rule_create
from prefcontent.brands.export import NOT_EXPORTED, brand_export, exported_models
from prefcontent.brands.ownership import brand_rows
from prefcontent.brands.services import brand_artifact_prefix
from prefcontent.experiments.assignment import assignment_for_unit
from prefcontent.experiments.ingestion import events_ingest
from prefcontent.experiments.lift_frozen import lift_clusters_freeze
from prefcontent.generation.models import GeneratedCandidate
from prefcontent.preferences.history_import import history_import
from prefcontent.preferences.services import pairs_build_on_demand
from prefcontent.preferences.snapshots import snapshot_create
from prefcontent.tenancy.principal import SYSTEM, principal_for_api_key
from prefcontent.training.models import TrainingRun
from prefcontent.training.policies import retrain_policy_create
from tests.factories import BrandFactory
from tests.prefcontent.adapters.factories import make_adapter
from tests.prefcontent.experiments.factories import make_experiment
from tests.prefcontent.generation.factories import GenerationJobFactory
from tests.prefcontent.preferences.factories import clear_win

HISTORY = (b"test_id,variant_text,impressions,clicks,conversions\n"
           b"t1,Save 20% on yoga mats.,5000,150,0\nt1,Ready for better mornings?,5000,260,0\n")


def populate(brand, make_key, tmp_path) -> None:
    """One of everything a brand can own, made through the services where they exist."""
    key = ApiKey.objects.select_related("brand").get(prefix=make_key(brand).split("_")[1])
    compliance_rule_create(principal=SYSTEM, brand=brand, kind="banned_phrase", pattern="miracle")
    live = make_experiment(brand, arms=2)
    arm = assignment_for_unit(principal=principal_for_api_key(key), experiment_id=live.pk, unit_id="reader-1").arm_id
    events_ingest(principal=principal_for_api_key(key), events=[
        {"event_id": f"e-{brand.pk}", "experiment": live.pk, "arm": arm, "type": "impression", "unit_id": "reader-1",
         "timestamp": time.time()}])
    lift_clusters_freeze([live.pk])  # what retention keeps of the experiment's readers before dropping its events
    pairs_build_on_demand(principal=SYSTEM, experiment=clear_win(brand))
    history_import(principal=SYSTEM, brand=brand, data=HISTORY, filename="h.csv", min_sample_per_arm=100)
    snapshot = snapshot_create(principal=SYSTEM, brand=brand, holdout_fraction=0.0)
    run = TrainingRun.objects.create(brand=brand, snapshot=snapshot, base_model_id="base", state="succeeded")
    adapter = make_adapter(brand, version=1, tmp_path=tmp_path)
    adapter.run = run
    adapter.save(update_fields=["run"])
    retrain_policy_create(principal=SYSTEM, brand=brand, values={"cron": "0 3 * * *", "threshold_pairs": 10})
    job = GenerationJobFactory(brand=brand, adapter_version=adapter)
    GeneratedCandidate.objects.create(job=job, index=0, text="Hello", status="kept")


def test_deleting_a_brand_erases_every_row_and_artifact(owner_client, brand, make_key, tmp_path, settings):
    other = BrandFactory(organization=brand.organization)
    populate(brand, make_key, tmp_path / "a")
    populate(other, make_key, tmp_path / "b")
    before = brand_rows(brand.pk)
    empty = sorted(label for label, n in before.items() if n == 0)
    assert not empty, f"populate() must create rows of every brand-owned model; missing: {empty}"
    other_before = brand_rows(other.pk)
    store = get_store(settings.MODELS_STORE_URL)
    assert store.list(brand_artifact_prefix(brand.pk))

    from prefcontent.brands.erasure import brand_erasures_sweep

    with TestCase.captureOnCommitCallbacks(execute=True):
        response = owner_client.delete(f"/api/v1/brands/{brand.pk}/")
    assert response.status_code == 204, response.content
    brand_erasures_sweep()  # what the sweep task sent on commit does on a worker

    assert brand_rows(brand.pk) == {label: 0 for label in before}
    from django_celery_beat.models import PeriodicTask

    assert not PeriodicTask.objects.filter(name=f"retrain-policy-{brand.pk}").exists()
    assert PeriodicTask.objects.filter(name=f"retrain-policy-{other.pk}").exists()
    assert store.list(brand_artifact_prefix(brand.pk)) == []
    assert brand_rows(other.pk) == other_before
    assert store.list(brand_artifact_prefix(other.pk))


def test_brand_export_carries_rows_and_verified_adapter_files(brand, make_key, tmp_path):
    populate(brand, make_key, tmp_path / "src")
    manifest = brand_export(brand=brand, out_dir=tmp_path / "export")
    assert manifest["counts"] == {k: v for k, v in brand_rows(brand.pk).items() if k not in NOT_EXPORTED}
    for model, _ in exported_models():
        lines = (tmp_path / "export" / "data" / f"{model._meta.label_lower}.jsonl").read_text().splitlines()
        assert len(lines) == manifest["counts"][model._meta.label]
        assert all(json.loads(line)["model"] == model._meta.label_lower for line in lines)
    (adapter,) = manifest["adapters"]
    assert (tmp_path / "export" / adapter["path"] / "adapter_model.safetensors").exists()
    assert not (tmp_path / "export" / "data" / "accounts.apikey.jsonl").exists()


def test_export_command_refuses_a_non_empty_directory(brand, tmp_path):
    from django.core.management import CommandError, call_command

    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x").write_text("x")
    with pytest.raises(CommandError):
        call_command("export_brand", "--brand", str(brand.pk), str(tmp_path / "out"))


@pytest.mark.django_db(transaction=True)
def test_erasure_removes_work_dirs_of_failed_cancelled_and_running_runs_and_evicts_workers(
        owner_client, brand, settings, tiny_model_dir, tmp_path):
    """Checkpoints of runs that never published live under WORK_DIR/training/run-<id>/; a running worker may
    still write one after the delete; generate workers keep the adapter loaded. A sweep, retried until done,
    removes all of it, and every generate worker unloads the brand."""
    from datetime import timedelta

    from django.utils import timezone

    from ml.serving.random_adapters import make_random_adapter
    from prefcontent.adapters.models import AdapterVersion
    from prefcontent.adapters.services import adapter_artifact_key
    from prefcontent.brands.erasure import brand_erasures_sweep
    from prefcontent.brands.erasure_models import PendingErasure
    from prefcontent.generation import facade, services
    from prefcontent.generation.execution import generation_job_execute
    from prefcontent.training.runner import run_dir
    from tests.prefcontent.generation.factories import BriefFactory
    from tests.prefcontent.training.factories import make_snapshot

    settings.PREFCONTENT_BASE_MODEL = str(tiny_model_dir)
    other = BrandFactory(organization=brand.organization)
    snapshot = make_snapshot(brand, train=4, holdout=2)
    runs = [TrainingRun.objects.create(brand=brand, snapshot=snapshot, base_model_id="base", state=state)
            for state in ("failed", "cancelled", "running")]
    for run in runs:
        (run_dir(run.pk) / "checkpoints" / "step-2").mkdir(parents=True)
        for name in ("adapter_model.safetensors", "optimizer.pt", "reference.pt"):
            (run_dir(run.pk) / "checkpoints" / "step-2" / name).write_bytes(b"weights")
    kept_run = TrainingRun.objects.create(brand=other, snapshot=make_snapshot(other, train=4, holdout=2),
                                          base_model_id="base", state="failed")
    (run_dir(kept_run.pk) / "checkpoints").mkdir(parents=True)
    store = get_store(settings.MODELS_STORE_URL)
    for owner, seed in ((brand, 1), (other, 2)):
        ref = store.put_dir(make_random_adapter(tiny_model_dir, tmp_path / f"adapter-{seed}", seed=seed, rank=8),
                            adapter_artifact_key(brand_id=owner.pk, version=1))
        AdapterVersion.objects.create(brand=owner, version=1, status="active", artifact_key=ref.key, sha256=ref.sha256,
                                      size_bytes=ref.size_bytes, base_model_id=str(tiny_model_dir))
        job = services.generation_job_create(principal=SYSTEM, brand=owner, brief=BriefFactory(brand=owner),
                                             channel=None, params=services.sampling_params(n=1, max_new_tokens=4),
                                             enqueue=False)
        assert generation_job_execute(job_id=job.pk, worker="w").state == "succeeded"
    assert facade.loaded_brand_ids() >= {brand.pk, other.pk}

    assert owner_client.delete(f"/api/v1/brands/{brand.pk}/").status_code == 204
    pending = PendingErasure.objects.get(brand_id=brand.pk)
    assert sorted(pending.run_ids) == sorted(r.pk for r in runs)
    assert brand_erasures_sweep() == {"erased": 0, "pending": 1}  # files were found: another pass must confirm
    assert not any(run_dir(r.pk).exists() for r in runs) and store.list(brand_artifact_prefix(brand.pk)) == []
    # The worker of the running run has not noticed yet and writes its cancel checkpoint.
    (run_dir(runs[2].pk) / "checkpoints" / "step-3").mkdir(parents=True)
    assert brand_erasures_sweep() == {"erased": 0, "pending": 1}
    assert not run_dir(runs[2].pk).exists()
    assert brand_erasures_sweep(now=timezone.now() + timedelta(hours=1)) == {"erased": 1, "pending": 0}
    assert not PendingErasure.objects.exists()

    # Generate workers: the next job on any worker drops the erased brand's adapters; the other brand's stay.
    job = services.generation_job_create(principal=SYSTEM, brand=other, brief=BriefFactory(brand=other), channel=None,
                                         params=services.sampling_params(n=1, max_new_tokens=4), enqueue=False)
    generation_job_execute(job_id=job.pk, worker="w")
    assert brand.pk not in facade.loaded_brand_ids() and other.pk in facade.loaded_brand_ids()
    assert run_dir(kept_run.pk).exists() and store.list(brand_artifact_prefix(other.pk))


@pytest.mark.django_db(transaction=True)
def test_a_failing_store_keeps_the_erasure_pending_and_a_later_sweep_finishes_it(owner_client, brand, settings,
                                                                                  tmp_path, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from models_store.local import LocalStore
    from prefcontent.brands.erasure import brand_erasures_sweep
    from prefcontent.brands.erasure_models import PendingErasure

    make_adapter(brand, version=1, tmp_path=tmp_path)
    real = LocalStore.delete_prefix

    def down(self, prefix):
        raise OSError("store unreachable")

    monkeypatch.setattr(LocalStore, "delete_prefix", down)
    assert owner_client.delete(f"/api/v1/brands/{brand.pk}/").status_code == 204
    later = timezone.now() + timedelta(hours=1)
    assert brand_erasures_sweep(now=later) == {"erased": 0, "pending": 1}
    row = PendingErasure.objects.get(brand_id=brand.pk)
    assert row.attempts == 1 and "store unreachable" in row.last_error
    monkeypatch.setattr(LocalStore, "delete_prefix", real)
    assert brand_erasures_sweep(now=later) == {"erased": 0, "pending": 1}  # removed now; the next pass confirms
    assert brand_erasures_sweep(now=later) == {"erased": 1, "pending": 0}
    assert get_store(settings.MODELS_STORE_URL).list(brand_artifact_prefix(brand.pk)) == []
