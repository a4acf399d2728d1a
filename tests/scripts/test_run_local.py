"""`make run`'s stack (scripts/run_local.sh + scripts/supervise.py) survives a killed worker and a bad message.

The stack runs as `make run` starts it, on the embedded default (SQLite and the filesystem broker
under its own var/), with the tiny model standing in for the dev model so nothing is built.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, headers: dict | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def _base_model_state(base: str) -> str | None:
    try:
        with urllib.request.urlopen(f"{base}/api/v1/status", timeout=10) as response:
            return json.loads(response.read())["base_model"]["state"]
    except OSError:  # HTTPError included
        return None


def _wait(condition, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}; log:\n{log.read_text()[-6000:]}")


@pytest.fixture
def stack(tmp_path, tiny_model_dir):
    dev_model = tmp_path / "dev_model"
    shutil.copytree(tiny_model_dir, dev_model)
    (dev_model / "devmodel.json").write_text("{}")  # complete: build_dev_model --if-missing does nothing
    var = tmp_path / "var"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL")}
    env.pop("PREFCONTENT_BASE_MODEL", None)
    env.update({"PREFCONTENT_VAR_DIR": str(var), "PORT": str(port), "PREFCONTENT_DEV_MODEL_DIR": str(dev_model),
                "BASE_MODEL": "dev",
                "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1", "DJANGO_SETTINGS_MODULE": "prefcontent.settings"})
    log = tmp_path / "stack.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(["bash", "scripts/run_local.sh"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc, var, port, log
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def _pid_of(log: Path, name: str) -> list[int]:
    return [int(p) for p in re.findall(rf"\[supervise\] {name} started \(pid (\d+)\)", log.read_text())]


def test_a_killed_worker_comes_back_and_a_corrupt_message_is_set_aside(stack):
    proc, var, port, log = stack
    base = f"http://127.0.0.1:{port}"
    _wait(lambda: _get(f"{base}/healthz") == 200 and "local-gpu@" in log.read_text()
          and log.read_text().count(" ready.") >= 2, 300, "the stack to start", log)
    key = json.loads((var / "demo.json").read_text())["api_key"]
    assert _get(f"{base}/api/v1/brands/", {"X-API-Key": key}) == 200
    _wait(lambda: _base_model_state(base) == "ready", 120, "the (already built) dev model to be reported ready", log)
    assert (var / "local.env").read_text() == "PREFCONTENT_BASE_MODEL=\n"  # BASE_MODEL=dev: the dev model

    # An interrupted broker write and a garbage message, as a crash or a bad disk leaves them.
    inbox = var / "broker" / "in"
    (inbox / "1_empty.default.msg").write_bytes(b"")
    (inbox / "2_garbage.default.msg").write_bytes(b"{not json")
    (gpu_pid,) = _pid_of(log, "worker-gpu")
    os.killpg(gpu_pid, signal.SIGKILL)

    _wait(lambda: len(_pid_of(log, "worker-gpu")) == 2, 120, "the gpu worker to be restarted", log)
    delay = float(re.search(r"worker-gpu exited with -9 after [\d.]+ s; restart 1 in ([\d.]+) s", log.read_text())[1])
    assert delay <= 30
    _wait(lambda: sorted(p.name for p in (var / "broker" / "corrupt").glob("*")) == [
        "1_empty.default.msg", "2_garbage.default.msg"], 120, "the bad messages to be set aside", log)
    assert _get(f"{base}/api/v1/brands/", {"X-API-Key": key}) == 200  # the web tier never went down
    assert len(_pid_of(log, "web")) == 1 and len(_pid_of(log, "worker-default")) == 1
    assert proc.poll() is None

    os.killpg(proc.pid, signal.SIGTERM)
    assert proc.wait(60) == 0
    assert "[supervise] stopping..." in log.read_text()
