"""The base model's state: recorded by its preparation, answered by GET /api/v1/status, shown by the dashboard."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from prefcontent.core import base_model
from prefcontent.core.base_model import base_model_status, base_model_status_write

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def dev_base(settings, tmp_path):
    """The dev model as the configured base model, in a fresh place."""
    settings.PREFCONTENT_BASE_MODEL = ""
    settings.DEV_MODEL_DIR = tmp_path / "dev_model"
    return settings.DEV_MODEL_DIR


def _status(client) -> dict:
    response = client.get("/api/v1/status")
    assert response.status_code == 200
    return response.json()["base_model"]


def test_a_build_that_misses_its_bar_exits_non_zero_and_says_failed(client, settings, dev_base):
    env = {**os.environ, "PREFCONTENT_DEV_MODEL_DIR": str(dev_base), "PREFCONTENT_BASE_MODEL": "",
           "PREFCONTENT_BASE_MODEL_STATUS_DIR": str(settings.BASE_MODEL_STATUS_DIR), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "manage.py", "build_dev_model", "--quick", "--threads", "1",
                           "--parse-bar", "1.01", "--attempts", "2"],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert "dev model build FAILED" in done.stderr and "under the bar 1.01" in done.stderr
    assert "dev model built at" not in done.stdout
    status = _status(client)
    assert status["state"] == "failed" and "under the bar 1.01" in status["detail"]
    assert status["name"] == "PrefContent dev model"
    assert not (dev_base / "devmodel.json").exists() and not dev_base.with_name("dev_model.building").exists()


def test_a_build_that_meets_its_bar_says_ready(client, settings, dev_base):
    from django.core.management import call_command

    call_command("build_dev_model", "--quick", "--threads", "1", stdout=io.StringIO())
    assert (dev_base / "devmodel.json").is_file()
    assert _status(client)["state"] == "ready"


def test_states_without_a_record_and_after_a_crash(client, dev_base):
    assert _status(client)["state"] == "missing" and "build_dev_model" in _status(client)["detail"]
    dev_base.mkdir()
    (dev_base / "config.json").write_text("{}")
    assert _status(client) == {"state": "ready", "name": "dev_model", "detail": "", "updated_at": None}
    base_model_status_write(state="preparing", detail="step 50/450", name="Dev")
    assert _status(client)["state"] == "preparing" and _status(client)["detail"] == "step 50/450"
    record_file = base_model.status_file(dev_base)
    record = json.loads(record_file.read_text())
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    record_file.write_text(json.dumps({**record, "pid": dead.pid}))  # the preparing process died
    status = base_model_status()
    assert status.state == "failed" and "stopped without finishing" in status.detail and "step 50/450" in status.detail


def test_a_record_about_another_model_says_nothing_about_this_one(client, settings, dev_base, tmp_path):
    base_model_status_write(state="failed", detail="boom", path=tmp_path / "elsewhere")
    assert _status(client)["state"] == "missing"


def test_status_shows_nothing_secret(client, dev_base):
    base_model_status_write(state="preparing", detail="converting")
    body = client.get("/api/v1/status").json()
    assert set(body) == {"base_model"} and set(body["base_model"]) == {"state", "name", "detail", "updated_at"}
    assert str(dev_base) not in json.dumps(body)


def test_readyz_does_not_wait_for_the_base_model(client, db, dev_base):
    base_model_status_write(state="preparing", detail="converting")
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_the_dashboard_shows_the_base_model_state(brand, dev_base):
    from tests.factories import MembershipFactory
    from tests.prefcontent.dashboard.conftest import logged_in

    client = logged_in(MembershipFactory(organization=brand.organization, role="viewer").user)
    base_model_status_write(state="failed", detail="parse rate 0.10 is under the bar 0.9", name="Dev")
    page = client.get("/dashboard/").content.decode()
    assert 'data-base-model-state="failed"' in page and "could not be prepared" in page
    assert "parse rate 0.10 is under the bar 0.9" in page
    base_model_status_write(state="ready", name="Dev")
    page = client.get("/dashboard/").content.decode()
    assert "data-base-model-state" not in page and ">Dev</span>" in page
