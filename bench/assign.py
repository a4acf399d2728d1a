"""Latency of the assignment endpoint at a fixed request rate, against /healthz at the same rate.

Same set-up as bench/ingest.py (fresh database, gunicorn on a loopback port, a running 3-arm
experiment). A separate load process sends GET /api/v1/experiments/{id}/assign?unit_id=... at a
fixed rate (open loop: each request has a scheduled send time, and its latency is measured from
that time, so a stalled server is not hidden by a stalled client). Half the units come back
(their stored assignment is read), half are new (an assignment is chosen and inserted). The
baseline, in the same run and at the same rate: /healthz, the cost of HTTP and Django alone.

    python bench/assign.py [--quick] [--rate 100] [--seconds 30] [--busy-disk]

Prints assign_p50_ms, assign_p99_ms, healthz_p50_ms, healthz_p99_ms, assign_vs_healthz_p99 (floor:
at most 2), assign_errors, and assign_uncached_p50_ms / assign_uncached_p99_ms: the same load on a
server restarted with HOT_CACHE_SECONDS=0 (the key and arms read on every request), the baseline;
and assign_sync_commit_p50_ms / _p99_ms: restarted with ASSIGNMENT_ASYNC_COMMIT=0 (a new reader's
assignment waits for the WAL flush). --busy-disk runs a writer that fsyncs 4 MiB blocks in a loop
beside every phase: another tenant of the database's disk.
The rate is a load well below saturation on a small machine; raise
it with --rate to find where the server saturates (latency then measures the queue, not the endpoint).
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import tempfile

from ingest import BenchServer, run_load_process, seed
from pacing import paced


def measure(port: int, key: str, paths: list[str], rate: float) -> tuple[float, float, int]:
    latencies, errors = run_load_process(paced, (port, key, [(i / rate, "get", p, None) for i, p in enumerate(paths)]))
    latencies = latencies["get"]
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return cuts[49], cuts[98], errors


def busy_disk(stop) -> None:
    """Write and fsync 4 MiB blocks until `stop` is set: a neighbour that keeps the disk's flush queue busy."""
    block = os.urandom(4 * 1024 * 1024)
    with tempfile.NamedTemporaryFile(dir=os.environ.get("BENCH_DISK_DIR")) as f:
        while not stop.is_set():
            f.write(block)
            f.flush()
            os.fsync(f.fileno())
            if f.tell() > 512 * 1024 * 1024:
                f.seek(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 s per phase")
    parser.add_argument("--rate", type=float, default=None, help="requests per second (default 100)")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per phase (default 30, quick 10)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--busy-disk", action="store_true", help="fsync 4 MiB blocks in a loop beside every phase")
    args = parser.parse_args()
    rate = args.rate or 100.0
    seconds = args.seconds or (10.0 if args.quick else 30.0)
    n = int(rate * seconds)

    server = BenchServer(workers=args.workers, prefix="pc_bench_assign")
    stop, writer = multiprocessing.Event(), None
    try:
        server.create_database()
        key, experiment = seed()
        server.checkpoint()
        server.start()
        if args.busy_disk:
            writer = multiprocessing.Process(target=busy_disk, args=(stop,), daemon=True)
            writer.start()
        rng = random.Random(11)
        base = f"/api/v1/experiments/{experiment.pk}/assign?unit_id="
        returning = [f"returning-{i}" for i in range(n // 2)]

        def assign_phase(tag: str) -> tuple[float, float, int]:
            """Warm-up (not measured: the returning units get their stored rows, the workers warm up), then
            the returning units and as many new ones, shuffled, at the rate."""
            measure(server.port, key, [base + u for u in returning], rate * 4)
            units = returning + [f"{tag}-{i}" for i in range(n - len(returning))]
            rng.shuffle(units)
            return measure(server.port, key, [base + u for u in units], rate)

        h50, h99, _ = measure(server.port, key, ["/healthz"] * n, rate)
        a50, a99, errors = assign_phase("new")
        # The same load with the key and arms read from the database on every request (HOT_CACHE_SECONDS=0).
        server.stop_server()
        server.server_env = {"HOT_CACHE_SECONDS": "0"}
        server.start()
        u50, u99, uncached_errors = assign_phase("uncached")
        # The same load with a new reader's assignment waiting for its WAL flush (ASSIGNMENT_ASYNC_COMMIT=0).
        server.stop_server()
        server.server_env = {"ASSIGNMENT_ASYNC_COMMIT": "0"}
        server.start()
        s50, s99, sync_errors = assign_phase("sync")
        print(f"assign_busy_disk={int(args.busy_disk)}")
        print(f"assign_rate_per_s={rate:.0f}")
        print(f"assign_requests={n}")
        print(f"assign_p50_ms={a50:.2f}")
        print(f"assign_p99_ms={a99:.2f}")
        print(f"healthz_p50_ms={h50:.2f}")
        print(f"healthz_p99_ms={h99:.2f}")
        print(f"assign_vs_healthz_p99={a99 / h99:.2f}")
        print(f"assign_uncached_p50_ms={u50:.2f}")
        print(f"assign_uncached_p99_ms={u99:.2f}")
        print(f"assign_sync_commit_p50_ms={s50:.2f}")
        print(f"assign_sync_commit_p99_ms={s99:.2f}")
        print(f"assign_sync_vs_healthz_p99={s99 / h99:.2f}")
        print(f"assign_errors={errors + uncached_errors + sync_errors}")
    finally:
        stop.set()
        if writer is not None:
            writer.join(10)
        server.stop()


if __name__ == "__main__":
    multiprocessing.freeze_support()
    main()
