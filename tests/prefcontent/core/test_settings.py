import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _check(env_extra: dict) -> subprocess.CompletedProcess:
    # A deployment has none of the test process's settings (the browser tests allow async-unsafe ORM use).
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "PREFCONTENT_ENV", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(env_extra)
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                          check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_production_refuses_to_start_without_a_real_secret_key():
    result = _check({"PREFCONTENT_ENV": "production"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_settings_pass_the_deploy_check():
    result = _check({"PREFCONTENT_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(60), "ALLOWED_HOSTS": "example.com",
                     "UNIT_HASH_KEY": secrets.token_urlsafe(40), "CACHE_URL": "redis://127.0.0.1:6379/1"})
    assert result.returncode == 0, result.stdout + result.stderr


def test_openapi_schema_validates_without_warnings(tmp_path):
    result = subprocess.run([sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn",
                             "--file", str(tmp_path / "schema.yaml")],
                            check=False, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
