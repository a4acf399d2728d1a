"""deploy/entrypoint.sh, the image's roles, run here outside Docker with the project's virtualenv."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "deploy" / "entrypoint.sh"


def role_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.update({
        "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '/usr/bin:/bin')}",
        "PREFCONTENT_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
        "HF_HUB_OFFLINE": "1",
    })
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_each_container_starts_with_empty_multiprocess_metrics(tmp_path):
    stale = tmp_path / "prometheus" / "counter_12345.db"
    stale.parent.mkdir()
    stale.write_bytes(b"old")

    out = subprocess.run([str(ENTRYPOINT), "sh", "-c", 'ls -A "$PROMETHEUS_MULTIPROC_DIR"; echo done'],
                         env=role_env(tmp_path), capture_output=True, text=True, timeout=30, check=True)

    assert out.stdout == "done\n"
    assert stale.parent.is_dir()


def test_the_web_role_loads_the_gunicorn_config_and_the_app(tmp_path):
    out = subprocess.run([str(ENTRYPOINT), "web", "--check-config"], check=False, env=role_env(tmp_path),
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.slow
def test_the_worker_role_serves_metrics_and_shuts_down_warm_on_sigterm(tmp_path):
    port = free_port()
    log = tmp_path / "worker.log"
    env = role_env(tmp_path, CELERY_QUEUES="default", CELERY_CONCURRENCY="1", METRICS_EXPORTER_PORT=str(port))
    with open(log, "w") as out:
        proc = subprocess.Popen([str(ENTRYPOINT), "worker"], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        body = None
        while time.monotonic() < deadline and (body is None or "ready." not in log.read_text()):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
                    assert response.status == 200
                    body = response.read().decode()
            except OSError:
                pass
            assert proc.poll() is None, log.read_text()
            time.sleep(0.3)
        assert body is not None and "ready." in log.read_text(), log.read_text()

        # Kubernetes and docker stop send SIGTERM to the worker (tini forwards it): warm shutdown.
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log.read_text()
        assert "Warm shutdown" in log.read_text()
        assert '"name": "celery.apps.worker"' in log.read_text()  # the worker logs JSON
    finally:
        # The exporter outlives celery here (no tini to end the container): stop the group.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(10)


def _published_base(root: Path) -> Path:
    """A base model as the models store publishes it: <key>/content/... and the manifest beside it."""
    content = root / "store" / "base_models" / "tiny" / "content"
    content.mkdir(parents=True)
    (content / "config.json").write_text("{}")
    (content / "model.safetensors").write_bytes(b"weights" * 1000)
    (content.parent / "manifest.json").write_text('{"sha256": "' + "ab" * 32 + '"}')
    return content


def test_the_worker_role_loads_the_base_model_from_a_node_local_copy_made_once(tmp_path):
    from prefcontent.core.base_model import base_model_identity

    source = _published_base(tmp_path)
    cache = tmp_path / "node-cache"
    env = role_env(tmp_path, PREFCONTENT_BASE_MODEL=str(source), BASE_MODEL_CACHE_DIR=str(cache))
    # The worker role with `--version` in place of a worker run: the copy happens before celery starts.
    script = ENTRYPOINT.read_text().replace("exec celery -A prefcontent worker", 'echo "$PREFCONTENT_BASE_MODEL"; exit 0; #')
    fake = tmp_path / "entrypoint.sh"
    fake.write_text(script)
    fake.chmod(0o755)
    (tmp_path / "cache_base_model.py").write_text((ROOT / "deploy" / "cache_base_model.py").read_text())

    def run() -> Path:
        out = subprocess.run([str(fake), "worker"], env=env, capture_output=True, text=True, timeout=60, check=True)
        return Path(out.stdout.strip().splitlines()[-1])

    local = run()
    assert local == cache / ("ab" * 32) / "tiny" / "content"
    assert (local / "model.safetensors").read_bytes() == (source / "model.safetensors").read_bytes()
    assert base_model_identity(local) == base_model_identity(source)  # adapters still match their base
    stamp = (local / "model.safetensors").stat().st_mtime_ns
    assert run() == local and (local / "model.safetensors").stat().st_mtime_ns == stamp  # not copied again
    assert [p.name for p in cache.iterdir()] == ["ab" * 32]  # no half copy left behind
