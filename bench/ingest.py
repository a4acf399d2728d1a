"""Event ingestion through the real HTTP endpoint, against PostgreSQL COPY of the same rows.

Creates a fresh bench database on DATABASE_URL's server (default postgres://postgres@127.0.0.1:5432),
migrates it, seeds a brand, an events:write API key and a running 3-arm experiment, starts
gunicorn on a loopback port, and drives POST /api/v1/events with batches of 500 from a separate
load process (several keep-alive connections). Then it re-sends a share of the batches, two
copies at once, as clients retrying after a timeout would, and recounts the table and the arm
counters. The baseline, in the same run: COPY of the same rows into a table with the same
columns and indexes.

    python bench/ingest.py [--quick] [--workers 4] [--connections 8]

Prints ingest_events_per_s (floor 10,000, target 20,000), copy_rows_per_s, ingest_vs_copy_ratio,
ingest_duplicate_retries, ingest_lost_or_duplicated (must be 0).
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BATCH = 500


class BenchServer:
    """A throwaway database plus a gunicorn serving the project on a loopback port."""

    def __init__(self, *, workers: int, prefix: str):
        server = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
        parsed = urlparse(server)
        self.db_name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        self.admin_url = parsed._replace(path="/postgres").geturl()
        self.db_url = parsed._replace(path=f"/{self.db_name}").geturl()
        self.workers = workers
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None
        self.server_env: dict[str, str] = {}  # extra settings for the gunicorn only, read at start()

    def env(self) -> dict:
        return {**os.environ, "DATABASE_URL": self.db_url, "DJANGO_DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1",
                "DJANGO_SETTINGS_MODULE": "prefcontent.settings", "HF_HUB_OFFLINE": "1",
                "DJANGO_LOG_LEVEL": "WARNING", "THROTTLE_API_KEY_RATE": "10000000/min"}

    def create_database(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        os.environ.update({k: v for k, v in self.env().items() if k != "PATH"})
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        self.checkpoint()

    def checkpoint(self) -> None:
        """Flush the WAL the set-up wrote, so a checkpoint does not land in the measured phase (superuser only)."""
        import psycopg

        try:
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute("CHECKPOINT")
        except psycopg.Error:
            pass

    def sibling(self, *, workers: int) -> BenchServer:
        """Another gunicorn, on its own port, over this server's database (a second web pool); stop it
        with stop_server(), which keeps the database."""
        other = BenchServer(workers=workers, prefix="unused")
        other.db_name, other.db_url, other.server_env = self.db_name, self.db_url, dict(self.server_env)
        return other

    def start(self) -> None:
        # A file, not a pipe: a full pipe nobody reads would block the server's logging.
        self.log = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "prefcontent.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(self.workers), "--worker-class", "gthread", "--threads", "2",
             "--keep-alive", "30", "--log-level", "warning"],
            cwd=ROOT, env={**self.env(), **self.server_env}, stdout=subprocess.DEVNULL, stderr=self.log,
            start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        self.log.seek(0)
        raise RuntimeError(f"gunicorn did not start: {self.log.read()[-4000:]}")

    def stop_server(self) -> None:
        """Stop the gunicorn and keep the database (start() again serves it)."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.log.seek(0, os.SEEK_END)
            self.log_bytes = self.log.tell()
            self.log.close()

    def stop(self) -> None:
        self.stop_server()
        from django.conf import settings

        if settings.configured:
            from django.db import connections

            connections.close_all()
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(*, arms: int = 3):
    """A brand, an API key with the bench's scopes and a running experiment; returns (key, experiment)."""
    from django.conf import settings
    from django.utils import timezone

    from prefcontent.accounts.models import ApiKey, Organization
    from prefcontent.brands.models import Brand
    from prefcontent.content.hashing import content_hash
    from prefcontent.content.models import Variant
    from prefcontent.core import secrets
    from prefcontent.experiments.models import Arm, Experiment

    org = Organization.objects.create(name="Bench", slug=f"bench-{uuid.uuid4().hex[:6]}")
    brand = Brand.objects.create(organization=org, name="Bench", slug="bench")
    issued = secrets.issue_secret(settings.API_KEY_PREFIX)
    ApiKey.objects.create(brand=brand, name="bench", prefix=issued.prefix, secret_hash=issued.secret_hash,
                          scopes=["events:write", "assign"])
    experiment = Experiment.objects.create(brand=brand, name="bench", status="running",
                                           started_at=timezone.now() - timezone.timedelta(minutes=5))
    for i in range(arms):
        text = f"Bench headline {i}"
        variant = Variant.objects.create(brand=brand, text=text, content_hash=content_hash(text))
        Arm.objects.create(experiment=experiment, variant=variant, is_control=i == 0, weight=1 / arms)
    return issued.plaintext, experiment


def make_batches(experiment, n_batches: int, rng: random.Random) -> list[list[dict]]:
    arm_ids = list(experiment.arms.values_list("id", flat=True))
    stamp = datetime.now(UTC).isoformat()
    batches = []
    for b in range(n_batches):
        batches.append([{"event_id": f"{b}-{i}-{uuid.uuid4().hex[:12]}", "experiment": experiment.pk,
                         "arm": rng.choice(arm_ids), "type": rng.choices(
                             ("impression", "click", "conversion"), weights=(80, 15, 5))[0],
                         "unit_id": f"visitor-{rng.randrange(10**9)}", "timestamp": stamp} for i in range(BATCH)])
    return batches


def load(port: int, key: str | list[str], bodies: list[bytes], connections: int, out) -> None:
    """The load process: `connections` keep-alive clients share the bodies; reports (seconds, accepted, dups).
    `key`: one API key for every body, or one per body (bodies of several brands)."""
    keys = key if isinstance(key, list) else [key] * len(bodies)
    lock, cursor = threading.Lock(), [0]
    totals = {"accepted": 0, "duplicates": 0, "errors": 0}

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                if cursor[0] >= len(bodies):
                    return
                body = bodies[cursor[0]]
                headers = {"Content-Type": "application/json", "X-API-Key": keys[cursor[0]]}
                cursor[0] += 1
            for _attempt in range(5):
                try:
                    conn.request("POST", "/api/v1/events", body=body, headers=headers)
                    response = conn.getresponse()
                    data = response.read()
                    break
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            else:
                raise RuntimeError("server unreachable")
            with lock:
                if response.status != 200:
                    totals["errors"] += 1
                    continue
                result = json.loads(data)
                totals["accepted"] += result["accepted"]
                totals["duplicates"] += len(result["duplicates"])

    threads = [threading.Thread(target=client) for _ in range(connections)]
    start = time.perf_counter()
    [t.start() for t in threads]
    [t.join() for t in threads]
    out.put((time.perf_counter() - start, totals))


def run_load_process(target, args: tuple):
    """Run `target(*args, out)` in a fresh process (its own interpreter and GIL); return what it puts in out."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, out))
    proc.start()
    result = out.get(timeout=600)
    proc.join(30)
    return result


def copy_baseline(batches: list[list[dict]], experiment) -> float:
    """COPY the same rows into a table like the events table (same indexes); rows per second."""
    from django.db import connection

    from prefcontent.experiments.models import Event
    from prefcontent.experiments.units import unit_hasher

    hasher = unit_hasher(experiment.brand_id)
    now = datetime.now(UTC)
    rows = [(experiment.brand_id, experiment.pk, e["arm"], e["event_id"], e["type"], hasher(e["unit_id"]),
             datetime.fromisoformat(e["timestamp"]), now) for batch in batches for e in batch]
    table = Event._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE bench_copy (LIKE {table} INCLUDING ALL)")
        raw = cursor.connection
        start = time.perf_counter()
        with raw.cursor() as cur, cur.copy(
                "COPY bench_copy (brand_id, experiment_id, arm_id, event_id, type, unit_hash, occurred_at, "
                "received_at) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return len(rows) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 batches (50,000 events), under a minute")
    parser.add_argument("--batches", type=int, default=None, help="batches of 500 (default 400, quick 100)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--connections", type=int, default=8, help="concurrent keep-alive clients")
    args = parser.parse_args()
    n_batches = args.batches or (100 if args.quick else 400)

    server = BenchServer(workers=args.workers, prefix="pc_bench_ingest")
    try:
        server.create_database()
        key, experiment = seed()
        rng = random.Random(7)
        batches = make_batches(experiment, n_batches, rng)
        bodies = [json.dumps({"events": b}).encode() for b in batches]
        server.start()
        seconds, totals = run_load_process(load, (server.port, key, bodies, args.connections))
        # Retries: a fifth of the batches again, each twice at the same time (a client and its timeout retry).
        retried = rng.sample(bodies, max(1, len(bodies) // 5))
        _, retry_totals = run_load_process(load, (server.port, key, [b for b in retried for _ in range(2)], args.connections))
        from django.db.models import Sum

        from prefcontent.experiments.models import Arm, Event

        sent = n_batches * BATCH
        stored = Event.objects.filter(experiment=experiment).count()
        counted = Arm.objects.filter(experiment=experiment).aggregate(
            n=Sum("impressions") + Sum("clicks") + Sum("conversions"))["n"]
        lost_or_duplicated = abs(sent - stored) + abs(sent - counted) + retry_totals["accepted"] \
            + abs(totals["accepted"] - sent) + totals["errors"] + retry_totals["errors"]
        copy_rate = copy_baseline(batches, experiment)
        ingest_rate = totals["accepted"] / seconds
        print(f"ingest_events={sent}")
        print(f"ingest_seconds={seconds:.2f}")
        print(f"ingest_events_per_s={ingest_rate:.0f}")
        print(f"copy_rows_per_s={copy_rate:.0f}")
        print(f"ingest_vs_copy_ratio={ingest_rate / copy_rate:.3f}")
        print(f"ingest_duplicate_retries={retry_totals['duplicates']}")
        print(f"ingest_lost_or_duplicated={lost_or_duplicated}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
