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

    with TestCase.captureOnCommitCallbacks(execute=True):
        response = owner_client.delete(f"/api/v1/brands/{brand.pk}/")
    assert response.status_code == 204, response.content

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
