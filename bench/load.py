"""Load test: assignment and event ingestion together at fixed rates, from a separate process.

Same set-up as bench/ingest.py (a fresh PostgreSQL database, gunicorn on a loopback port, a
running experiment). One load process sends, open loop, GET .../assign at --assign-rate and
POST /api/v1/events (batches of --batch events) at --events-rate for --seconds (60 by default,
15 with --quick). Latency is measured from each request's scheduled time. Afterwards the events
are recounted in the database: every accepted event is stored and counted exactly once.

    python bench/load.py [--quick]

Prints load_assign_p50_ms, load_assign_p99_ms, load_ingest_p50_ms, load_ingest_p99_ms,
load_requests, load_errors, load_events_lost_or_duplicated.
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import random
import statistics
import threading
import time

from ingest import BenchServer, make_batches, run_load_process, seed

CLIENTS = 16


def paced_mixed(port: int, key: str, requests: list[tuple[float, str, str, bytes | None]], out) -> None:
    """requests: (due offset s, kind, path, body); each is sent at start + offset by a pool of clients."""
    lock, cursor = threading.Lock(), [0]
    latencies: dict[str, list[float]] = {"assign": [], "ingest": []}
    errors = [0]
    start = time.perf_counter() + 0.3

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                i = cursor[0]
                cursor[0] += 1
            if i >= len(requests):
                return
            offset, kind, path, body = requests[i]
            due = start + offset
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            headers = {"X-API-Key": key}
            if body is not None:
                headers["Content-Type"] = "application/json"
            try:
                conn.request("POST" if body is not None else "GET", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                ok = False
            with lock:
                latencies[kind].append((time.perf_counter() - due) * 1000)
                errors[0] += not ok

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    out.put((latencies, errors[0]))


def _p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="15 s instead of 60 s")
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--assign-rate", type=float, default=50.0, help="assignment requests per second")
    parser.add_argument("--events-rate", type=float, default=10.0, help="event batches per second")
    parser.add_argument("--batch", type=int, default=100, help="events per batch")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    args = parser.parse_args()
    seconds = args.seconds or (15.0 if args.quick else 60.0)

    import ingest

    ingest.BATCH = args.batch
    server = BenchServer(workers=args.workers, prefix="pc_bench_load")
    try:
        server.create_database()
        key, experiment = seed()
        server.start()
        rng = random.Random(5)
        requests = []
        for i in range(int(args.assign_rate * seconds)):
            path = f"/api/v1/experiments/{experiment.pk}/assign?unit_id=load-{rng.randrange(10**6)}"
            requests.append((i / args.assign_rate, "assign", path, None))
        batches = make_batches(experiment, int(args.events_rate * seconds), rng)
        for i, batch in enumerate(batches):
            requests.append((i / args.events_rate, "ingest", "/api/v1/events", json.dumps({"events": batch}).encode()))
        requests.sort(key=lambda r: r[0])
        latencies, errors = run_load_process(paced_mixed, (server.port, key, requests))
        from prefcontent.experiments.models import Arm, Event

        sent = sum(len(b) for b in batches)
        stored = Event.objects.filter(experiment=experiment).count()
        counted = sum(a.impressions + a.clicks + a.conversions for a in Arm.objects.filter(experiment=experiment))
        print(f"load_seconds={seconds:.0f}")
        print(f"load_requests={len(requests)}")
        print(f"load_assign_p50_ms={_p(latencies['assign'], 50):.2f}")
        print(f"load_assign_p99_ms={_p(latencies['assign'], 99):.2f}")
        print(f"load_ingest_p50_ms={_p(latencies['ingest'], 50):.2f}")
        print(f"load_ingest_p99_ms={_p(latencies['ingest'], 99):.2f}")
        print(f"load_errors={errors}")
        print(f"load_events_lost_or_duplicated={abs(sent - stored) + abs(stored - counted)}")
    finally:
        server.stop()


if __name__ == "__main__":
    multiprocessing.freeze_support()
    main()
