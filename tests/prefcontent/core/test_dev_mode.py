"""Issue #23 finding 13: development mode says so loudly at start; deploy/ runs production settings."""
from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
START_WEB = "import prefcontent.wsgi"  # what gunicorn and runserver do first


def _start(env_extra: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("SECRET_KEY", "PREFCONTENT_ENV", "DJANGO_DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-c", START_WEB], check=False, cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_a_server_started_without_environment_says_it_is_in_development_mode():
    result = _start({})
    assert result.returncode == 0, result.stderr
    assert "DEVELOPMENT MODE" in result.stderr and "DEBUG=True" in result.stderr


def test_a_production_server_starts_quietly():
    result = _start({"PREFCONTENT_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(60),
                     "UNIT_HASH_KEY": secrets.token_urlsafe(40), "CACHE_URL": "redis://127.0.0.1:6379/9",
                     "ALLOWED_HOSTS": "example.com"})  # what production requires besides the secret key
    assert result.returncode == 0, result.stderr
    assert "DEVELOPMENT MODE" not in result.stderr


def test_production_refuses_debug_pages():
    result = _start({"PREFCONTENT_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(60),
                     "DJANGO_DEBUG": "true"})
    assert result.returncode != 0
    assert "DJANGO_DEBUG=true is refused" in result.stderr


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "Dockerfile.gpu"])
def test_the_images_default_to_production(dockerfile):
    text = (ROOT / "deploy" / dockerfile).read_text()
    env_block = re.search(r"^ENV (.*?)(?:\n\n|\n[A-Z]+ )", text, re.DOTALL | re.MULTILINE).group(1)
    assert "PREFCONTENT_ENV=production" in env_block and "DJANGO_DEBUG=false" in env_block


@pytest.mark.parametrize("path", ["compose.yaml", "k8s/base/config.yaml"])
def test_compose_and_kubernetes_run_production_settings(path):
    text = (ROOT / "deploy" / path).read_text()
    assert "PREFCONTENT_ENV: production" in text and 'DJANGO_DEBUG: "false"' in text
