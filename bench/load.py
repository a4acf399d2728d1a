"""Load test: assignment and event ingestion together at fixed rates, from a separate process.

Same set-up as bench/ingest.py (a fresh PostgreSQL database, gunicorn on a loopback port, a
running experiment). One load process sends, open loop, GET .../assign at --assign-rate and
POST /api/v1/events (batches of --batch events) at --events-rate for --seconds (60 by default,
15 with --quick). Latency is measured from each request's scheduled time. Afterwards the events
are recounted in the database: every accepted event is stored and counted exactly once.

    python bench/load.py [--quick]
    python bench/load.py --generation [--quick]

Prints load_assign_p50_ms, load_assign_p99_ms, load_ingest_p50_ms, load_ingest_p99_ms,
load_requests, load_errors, load_events_lost_or_duplicated.

`--generation`: the same load three times in one run: alone, with generation traffic, alone again.
Generation traffic is what a deployment has beside the hot paths: a second gunicorn (the `web`
pool) takes async generate requests for 8 brands with random adapters, one real generate worker
(threads, one engine; SmolLM2 when installed, else a tiny model with --quick) decodes them, and a
feeder keeps --generate-inflight jobs in flight. In production the worker runs on a GPU node of its
own; on one shared CPU it runs `--generate-nice` (default 19) below the web pools, the stand-in for
that separation (0 puts it on the same footing). The baseline is both alone phases pooled (the
machine drifts). Adds load_assign_p99_ms_generation, load_ingest_p99_ms_generation,
load_assign_p99_vs_alone and load_ingest_p99_vs_alone (ceiling 1.5 each), and the generation
tokens/s during the phase.
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from ingest import BenchServer, make_batches, run_load_process, seed
from pacing import paced

BROKER = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")


def _p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _requests(experiment, seconds: float, assign_rate: float, events_rate: float, rng: random.Random) -> tuple[list, int]:
    """The paced requests of one phase (fresh readers and event ids); and how many events they send."""
    requests = []
    for i in range(int(assign_rate * seconds)):
        path = f"/api/v1/experiments/{experiment.pk}/assign?unit_id=load-{rng.randrange(10**9)}"
        requests.append((i / assign_rate, "assign", path, None))
    batches = make_batches(experiment, int(events_rate * seconds), rng)
    for i, batch in enumerate(batches):
        requests.append((i / events_rate, "ingest", "/api/v1/events", json.dumps({"events": batch}).encode()))
    requests.sort(key=lambda r: r[0])
    return requests, sum(len(b) for b in batches)


class GenerationTraffic:
    """A web pool for generate requests, one generate worker and a feeder keeping `inflight` jobs going."""

    def __init__(self, server: BenchServer, brands, work: list[dict], *, inflight: int, nice: int, scratch: Path):
        from serve import Worker

        self.web = server.sibling(workers=1)
        self.web.start()
        self.brands, self.work, self.inflight = brands, work, inflight
        self.worker = Worker(server.env(), pool="threads", concurrency=64, scratch=scratch, nice=nice)
        self.stop_flag = threading.Event()
        self.done: list[int] = []
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._feed, daemon=True)

    def _post(self, n: int) -> int:
        from django.urls import reverse

        item = self.work[n % len(self.work)]
        brand_id, key = self.brands[item["brand"]]
        conn = http.client.HTTPConnection("127.0.0.1", self.web.port, timeout=60)
        conn.request("POST", reverse("brand-generate", kwargs={"brand_id": brand_id}),
                     body=json.dumps({**item["body"], "seed": 50_000 + n}),
                     headers={"Content-Type": "application/json", "X-API-Key": key})
        response = conn.getresponse()
        data = response.read()
        conn.close()
        if response.status != 202:
            raise RuntimeError(f"generate answered {response.status}: {data[:300]!r}")
        return json.loads(data)["id"]

    def _feed(self) -> None:
        from django.db import connection

        from prefcontent.generation.models import GenerationJob

        sent, running = 0, set()
        try:
            while not self.stop_flag.is_set():
                while len(running) < self.inflight:
                    running.add(self._post(sent))
                    sent += 1
                for job in GenerationJob.objects.filter(pk__in=running):
                    if job.is_done:
                        running.discard(job.pk)
                        if job.state == "succeeded":
                            self.done.append(job.pk)
                        else:
                            self.errors.append(f"{job.pk}: {job.error_code} {job.error_message}"[:200])
                if self.worker.proc.poll() is not None:
                    raise RuntimeError(f"the generate worker died: {self.worker.log_path.read_text()[-2000:]}")
                time.sleep(0.25)
        except Exception as exc:  # noqa: BLE001 - reported by the bench, which then stops
            self.errors.append(repr(exc)[:500])
        finally:
            connection.close()

    def start(self, warm_jobs: int, timeout: float = 900.0) -> None:
        """Start feeding; return once `warm_jobs` jobs finished (model and adapters loaded)."""
        self.thread.start()
        deadline = time.monotonic() + timeout
        while len(self.done) < warm_jobs:
            if self.errors or time.monotonic() > deadline:
                raise RuntimeError(f"generation did not warm up: {self.errors[:3]}")
            time.sleep(0.5)

    def tokens_of(self, job_ids: list[int]) -> int:
        from prefcontent.generation.models import GeneratedCandidate

        return sum(GeneratedCandidate.objects.filter(job_id__in=job_ids).values_list("token_count", flat=True))

    def stop(self) -> None:
        self.stop_flag.set()
        if self.thread.is_alive():
            self.thread.join(30)
        self.worker.stop()
        self.web.stop_server()


def _setup_generation(args, scratch: Path) -> str:
    """Environment for a generate worker before Django starts; the base model's name."""
    from serve import _base

    base, name = _base(args, scratch)
    os.environ.update({"CELERY_BROKER_URL": BROKER, "PREFCONTENT_BASE_MODEL": base,
                       "MODELS_STORE_URL": str(scratch / "models_store"), "PREFCONTENT_WORK_DIR": str(scratch / "work"),
                       "GENERATE_MAX_NEW_TOKENS": "64", "GENERATE_DEVICE": "cpu", "LOG_LEVEL": "WARNING"})
    return name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="15 s a phase instead of 60 s")
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--assign-rate", type=float, default=50.0, help="assignment requests per second")
    parser.add_argument("--events-rate", type=float, default=10.0, help="event batches per second")
    parser.add_argument("--batch", type=int, default=100, help="events per batch")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--generation", action="store_true", help="alone, with generation traffic, alone again")
    parser.add_argument("--base", help="--generation: a model directory (default: the installed SmolLM2)")
    parser.add_argument("--generate-inflight", type=int, default=8, help="--generation: jobs kept in flight")
    parser.add_argument("--generate-nice", type=int, default=19, help="--generation: the generate worker's niceness")
    args = parser.parse_args()
    seconds = args.seconds or (15.0 if args.quick else 60.0)

    import ingest

    ingest.BATCH = args.batch
    scratch = Path(tempfile.mkdtemp(prefix="load-bench-"))
    base_name = _setup_generation(args, scratch) if args.generation else None
    server = BenchServer(workers=args.workers, prefix="pc_bench_load")
    traffic = None
    try:
        server.create_database()
        key, experiment = seed()
        rng = random.Random(5)
        phases = ["alone"]
        if args.generation:
            from serve import _seed, _workload

            from prefcontent.celery import app

            app.control.purge()
            brands = _seed(os.environ["PREFCONTENT_BASE_MODEL"], scratch)
            work = _workload(random.Random(11), 48)
            phases = ["alone", "generation", "alone"]
        server.start()
        results: dict[str, dict[str, list[float]]] = {"alone": {"assign": [], "ingest": []},
                                                      "generation": {"assign": [], "ingest": []}}
        sent = errors = 0
        gen_jobs: list[int] = []
        gen_seconds = 0.0
        for phase in phases:
            requests, events = _requests(experiment, seconds, args.assign_rate, args.events_rate, rng)
            if phase == "generation":
                traffic = GenerationTraffic(server, brands, work, inflight=args.generate_inflight,
                                            nice=args.generate_nice, scratch=scratch)
                traffic.start(warm_jobs=len(brands))
                before = len(traffic.done)
                started = time.monotonic()
            latencies, phase_errors = run_load_process(paced, (server.port, key, requests))
            if phase == "generation":
                gen_seconds = time.monotonic() - started
                gen_jobs = traffic.done[before:]
                if traffic.errors:
                    raise RuntimeError(f"generation failed: {traffic.errors[:3]}")
                gen_tokens = traffic.tokens_of(gen_jobs)
                traffic.stop()
                traffic = None
            for kind in ("assign", "ingest"):
                results[phase][kind] += latencies.get(kind, [])
            sent += events
            errors += phase_errors
        from prefcontent.experiments.models import Arm, Event

        stored = Event.objects.filter(experiment=experiment).count()
        counted = sum(a.impressions + a.clicks + a.conversions for a in Arm.objects.filter(experiment=experiment))
        alone = results["alone"]
        print(f"load_seconds={seconds:.0f}")
        print(f"load_requests={len(alone['assign']) + len(alone['ingest'])}")
        print(f"load_assign_p50_ms={_p(alone['assign'], 50):.2f}")
        print(f"load_assign_p99_ms={_p(alone['assign'], 99):.2f}")
        print(f"load_ingest_p50_ms={_p(alone['ingest'], 50):.2f}")
        print(f"load_ingest_p99_ms={_p(alone['ingest'], 99):.2f}")
        if args.generation:
            during = results["generation"]
            for kind in ("assign", "ingest"):
                p99 = _p(during[kind], 99)
                print(f"load_{kind}_p50_ms_generation={_p(during[kind], 50):.2f}")
                print(f"load_{kind}_p99_ms_generation={p99:.2f}")
                print(f"load_{kind}_p99_vs_alone={p99 / _p(alone[kind], 99):.3f}")
            print(f"generation_base={base_name}")
            print(f"generation_jobs_during={len(gen_jobs)}")
            print(f"generation_tokens_per_s_during={gen_tokens / gen_seconds:.1f}")
            print(f"generate_nice={args.generate_nice}")
        print(f"load_errors={errors}")
        print(f"load_events_lost_or_duplicated={abs(sent - stored) + abs(stored - counted)}")
        print("loadavg_1_5_15=" + ",".join(f"{v:.2f}" for v in os.getloadavg()))
    finally:
        if traffic is not None:
            traffic.stop()
        server.stop()


if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
