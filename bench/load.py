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
import json
import multiprocessing
import random
import statistics

from ingest import BenchServer, make_batches, run_load_process, seed
from pacing import paced


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
        latencies, errors = run_load_process(paced, (server.port, key, requests))
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
