"""Settings that must agree with each other, read by a fresh process as a deployment would start."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_PRINT = """
import django, json
django.setup()
from django.conf import settings
from prefcontent.training.tasks import training_run_execute as execute_run
print(json.dumps({"visibility": settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout"),
                  "training_limit": execute_run.time_limit}))
"""


def _start(tmp_path, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "TRAINING_", "GENERATE_"))}
    clean.update({"DJANGO_SETTINGS_MODULE": "prefcontent.settings", "PREFCONTENT_VAR_DIR": str(tmp_path), **env})
    return subprocess.run([sys.executable, "-c", _PRINT], check=False, cwd=ROOT, env=clean, capture_output=True, text=True,
                          timeout=120)


def test_the_default_visibility_timeout_outlasts_the_training_time_limit(tmp_path):
    """Redis redelivers an unacknowledged task after the visibility timeout: a long run must not go twice."""
    for limit in ("21600", "40000"):
        started = _start(tmp_path, CELERY_BROKER_URL="redis://127.0.0.1:6379/0", TRAINING_TASK_TIME_LIMIT=limit)
        assert started.returncode == 0, started.stderr
        values = json.loads(started.stdout.strip().splitlines()[-1])
        assert values["training_limit"] == int(limit) and values["visibility"] > values["training_limit"]


def test_a_visibility_timeout_shorter_than_the_training_limit_refuses_to_start(tmp_path):
    started = _start(tmp_path, CELERY_BROKER_URL="redis://127.0.0.1:6379/0", CELERY_VISIBILITY_TIMEOUT="7200",
                     TRAINING_TASK_TIME_LIMIT="21600")
    assert started.returncode != 0 and "CELERY_VISIBILITY_TIMEOUT (7200 s) must exceed" in started.stderr


def test_production_needs_its_own_unit_hash_key(tmp_path):
    secret = "s" * 60
    started = _start(tmp_path, PREFCONTENT_ENV="production", SECRET_KEY=secret, UNIT_HASH_KEY="",
                     ALLOWED_HOSTS="x")
    assert started.returncode != 0 and "UNIT_HASH_KEY" in started.stderr


def test_production_refuses_a_per_process_cache(tmp_path):
    """Rate limits and lockouts in a per-process cache would be N times too loose with N web processes."""
    started = _start(tmp_path, PREFCONTENT_ENV="production", SECRET_KEY="s" * 60, UNIT_HASH_KEY="u" * 40,
                     ALLOWED_HOSTS="x", CACHE_URL="")
    assert started.returncode != 0 and "CACHE_URL" in started.stderr
