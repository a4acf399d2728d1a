"""Start and stop a real Celery worker process against the test database and broker."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def test_database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


class CeleryWorker:
    def __init__(self, *, queues: str = "default,gpu,generate", concurrency: int = 1, extra_env: dict | None = None,
                 pool: str = "prefork"):
        self.queues = queues
        self.concurrency = concurrency
        self.pool = pool
        self.extra_env = extra_env or {}
        self.proc: subprocess.Popen | None = None
        self.log_path = Path(settings.VAR_DIR) / f"test-worker-{uuid.uuid4().hex[:8]}.log"

    def env(self) -> dict:
        env = dict(os.environ)
        env.update({
            "DATABASE_URL": test_database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "PYTHONUNBUFFERED": "1",
            "HF_HUB_OFFLINE": "1",
        })
        env.update({k: str(v) for k, v in self.extra_env.items()})
        return env

    def start(self, timeout: float = 60) -> None:
        from prefcontent.celery import app

        app.control.purge()
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "prefcontent", "worker", "-Q", self.queues,
             "-c", str(self.concurrency), "--pool", self.pool, "--loglevel", "INFO", "-n", f"test-{uuid.uuid4().hex[:6]}@%h"],
            cwd=ROOT, env=self.env(), stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        from prefcontent.core.models import WorkerHeartbeat
        from prefcontent.core.tasks import ping

        marker = f"ready-{uuid.uuid4().hex}"
        ping.delay(marker)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if WorkerHeartbeat.objects.filter(marker=marker).exists():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(f"Celery worker did not become ready; log:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the whole worker process group (parent and pool children)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        if getattr(self, "_log", None):
            self._log.close()
        self.log_path.unlink(missing_ok=True)
