"""`manage.py build_dev_model` and `manage.py train_run`."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from models_store import dir_checksum
from prefcontent.adapters.models import AdapterVersion
from prefcontent.training.models import TrainingRun
from tests.prefcontent.training.factories import make_snapshot


@pytest.fixture
def fake_build(monkeypatch):
    """Record builds instead of training a model; write what a finished build leaves."""
    import ml.devmodel.build as build_module

    calls = []

    def build(out_dir, cfg, log=print):
        calls.append((Path(out_dir), cfg))
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        (Path(out_dir) / "config.json").write_text("{}")
        (Path(out_dir) / "devmodel.json").write_text(json.dumps({"documents": cfg.documents}))
        return {}

    monkeypatch.setattr(build_module, "build", build)
    return calls


def test_build_dev_model_swaps_a_finished_build_into_place(settings, tmp_path, fake_build):
    settings.DEV_MODEL_DIR = tmp_path / "dev_model"
    call_command("build_dev_model", "--quick", stdout=io.StringIO())
    assert len(fake_build) == 1 and fake_build[0][0].name == "dev_model.building"
    assert fake_build[0][1].documents == 1000  # --quick
    assert json.loads((settings.DEV_MODEL_DIR / "devmodel.json").read_text()) == {"documents": 1000}
    assert not (tmp_path / "dev_model.building").exists()


def test_if_missing_skips_a_complete_model_but_rebuilds_a_partial_one(settings, tmp_path, fake_build):
    settings.DEV_MODEL_DIR = tmp_path / "dev_model"
    settings.DEV_MODEL_DIR.mkdir()
    (settings.DEV_MODEL_DIR / "config.json").write_text("{}")  # an interrupted build: no devmodel.json
    call_command("build_dev_model", "--if-missing", stdout=io.StringIO())
    assert len(fake_build) == 1
    out = io.StringIO()
    call_command("build_dev_model", "--if-missing", stdout=out)
    assert len(fake_build) == 1 and "already built" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_train_run_executes_a_run_in_process(brand, training_env):
    out = io.StringIO()
    call_command("train_run", brand=brand.pk, snapshot=make_snapshot(brand).pk,
                 hp=["max_steps=3", "batch_size=8", "lr=0.005", "lora_rank=8", "lora_alpha=16"], stdout=out)
    run = TrainingRun.objects.get()
    assert run.step == 3 and run.state in ("succeeded", "rejected")
    assert f"state={run.state} steps=3/3" in out.getvalue() and "adapter v1" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_a_trained_adapter_records_the_identity_of_its_base(brand, training_env, tiny_model_dir):
    call_command("train_run", brand=brand.pk, snapshot=make_snapshot(brand).pk,
                 hp=["max_steps=2", "batch_size=8", "lr=0.005", "lora_rank=8", "lora_alpha=16"], stdout=io.StringIO())
    adapter = AdapterVersion.objects.get()
    assert adapter.base_model_sha256 == dir_checksum(tiny_model_dir)
    assert adapter.base_model_name == tiny_model_dir.name


def test_train_run_explains_bad_input(brand, db):
    with pytest.raises(CommandError, match="give --run"):
        call_command("train_run", brand=brand.pk)
    with pytest.raises(CommandError, match="Invalid hyperparameters"):
        call_command("train_run", brand=brand.pk, snapshot=make_snapshot(brand).pk, hp=["lora_rank=5"])
