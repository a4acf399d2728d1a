"""The anonymous rate limit (the brute-force guard of POST /auth/token) across real web processes."""
from __future__ import annotations

import ipaddress
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _shared_cache_url(tmp_path) -> str:
    """Redis when one runs here (as deployed), else a file cache: both are shared between processes."""
    import redis

    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/14", socket_connect_timeout=1).ping()
        return "redis://127.0.0.1:6379/14"
    except redis.exceptions.ConnectionError:
        return f"filecache://{tmp_path / 'cache'}"


class WebProcess:
    """`manage.py runserver` in its own process, as one of several web replicas."""

    def __init__(self, tmp_path, **env) -> None:
        self.port = _free_port()
        # Its own SQLite under its var dir: the suite's DATABASE_URL names a database that only the test
        # runner's copy of exists, and the limit under test needs the shared cache, not a database.
        full = {**{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
                "PREFCONTENT_VAR_DIR": str(tmp_path / "var"), "DJANGO_DEBUG": "false", "ALLOWED_HOSTS": "127.0.0.1",
                **env}
        self.proc = subprocess.Popen([sys.executable, "manage.py", "runserver", f"127.0.0.1:{self.port}", "--noreload",
                                      "--skip-checks"], cwd=ROOT, env=full, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("web process did not start")

    def post_token(self, forwarded_for: str | None = None) -> int:
        headers = {"Content-Type": "application/json"}
        if forwarded_for:
            headers["X-Forwarded-For"] = forwarded_for
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/api/v1/auth/token", data=json.dumps({}).encode(),
                                         headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


@pytest.mark.slow
def test_the_anonymous_limit_holds_across_two_web_processes_and_forged_forwarded_for(tmp_path):
    # A day's window: the ten requests cannot straddle a window boundary (but at midnight UTC).
    env = {"CACHE_URL": _shared_cache_url(tmp_path), "THROTTLE_ANON_RATE": "6/d", "NUM_PROXIES": "1"}
    # A fresh bucket in a Redis that earlier runs of the same day share: 250 IPv4 addresses collided
    # after a few runs (the first request already over the limit), 2**64 IPv6 addresses do not.
    client = str(ipaddress.IPv6Address((0x20010DB8 << 96) | (uuid.uuid4().int >> 64)))
    first, second = WebProcess(tmp_path, **env), WebProcess(tmp_path, **env)
    try:
        # Behind one proxy the client address is the last X-Forwarded-For entry; what the client wrote
        # before it (a forged address per request) must not give it a fresh bucket.
        codes = [(first if i % 2 else second).post_token(f"10.9.{i}.{i}, {client}") for i in range(10)]
    finally:
        first.stop()
        second.stop()
    assert codes[:6] == [400] * 6  # the empty body is refused, and counted
    assert codes[6:] == [429] * 4  # shared by both processes, whatever the forged prefix


def test_by_default_a_forged_forwarded_for_does_not_reset_the_limit(api, settings):
    """The default trusts no X-Forwarded-For (NUM_PROXIES 0): each forged address is still the same client."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                                                          "anon": "3/d"}}
    from django.core.cache import cache

    cache.clear()
    codes = [api.post("/api/v1/auth/token", {}, format="json", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code
             for i in range(5)]
    assert codes == [400, 400, 400, 429, 429]
