"""Generation through the API to one real generate worker, against the engine driven directly.

A fresh PostgreSQL database (DATABASE_URL's server), 8 brands each with an active random LoRA
adapter over the base model, one API key per brand, gunicorn on a loopback port and Redis as the
broker (BENCH_REDIS_URL, default redis://127.0.0.1:6379/12, purged first). Then, in one run:

1. **serve**: one Celery worker process as deployed (`--pool threads -c 64`: every job of the run
   in its one engine). 64 generation requests for the 8 brands are POSTed at once (async, from 16
   client threads); each request's latency runs from its POST to its job's `finished_at`.
2. **engine**: the same 64 requests (the prompts, seeds and budgets the jobs used) submitted at
   once to an Engine in this process, the worker stopped: the ceiling serving could reach.
3. **old worker**: the same requests through the API to the old generate worker, prefork at
   concurrency 1 (one job at a time): all 64, or the first 16 with --quick (its jobs run one after
   the other, so its tokens/s needs no queue of 64; all 64 took 24 min here under load).

Every server is warmed first (one request per brand: model and adapters loaded). Tokens are the
completion tokens the jobs stored (GeneratedCandidate.token_count) or the engine returned.
`serve_mean_batch` is the worker's own `prefcontent_decode_batch_rows` histogram over the run.

    python bench/serve.py --quick    # SmolLM2 when installed (manage.py install_base_model smollm2), else a tiny model
    python bench/serve.py --base /path/to/model --max-new-tokens 64

Prints serve_tokens_per_s, engine_tokens_per_s, serve_vs_engine (floor 0.7), serve_mean_batch (floor 4),
serve_p50_ms, serve_p99_ms, old_worker_tokens_per_s, serve_vs_old_worker, and the load average.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest import BenchServer  # noqa: E402

BRANDS = 8
REQUESTS = 64
PRODUCTS = ("trail running shoes", "cold brew", "rain jackets", "desk lamps", "wool socks", "headphones",
            "summer dresses", "smart watches")
AUDIENCES = ("runners", "coffee lovers", "travelers", "remote workers", "hikers", "commuters", "everyone",
             "busy parents")


def _installed_smollm2() -> str | None:
    out = subprocess.run([sys.executable, "manage.py", "install_base_model", "smollm2", "--print-path"], cwd=ROOT, check=False,
                         capture_output=True, text=True, env={**os.environ, "PREFCONTENT_BASE_MODEL": ""})
    path = out.stdout.strip().splitlines()[-1] if out.returncode == 0 and out.stdout.strip() else ""
    return path if path and (Path(path) / "config.json").is_file() else None


def _base(args, scratch: Path) -> tuple[str, str]:
    if args.base:
        return args.base, Path(args.base).name
    smollm2 = _installed_smollm2()
    if smollm2:
        return smollm2, "smollm2"
    if not args.quick:
        raise SystemExit("SmolLM2 is not installed: manage.py install_base_model smollm2 (or --base, or --quick)")
    from ml.tiny import build_tiny_model

    return str(build_tiny_model(scratch / "tiny")), "tiny"


def _workload(rng: random.Random, max_new_tokens: int) -> list[dict]:
    """64 request bodies: brand index, brief, n 1-2, budgets between half and all of max_new_tokens."""
    work = []
    for i in range(REQUESTS):
        brand = i % BRANDS
        work.append({"brand": brand, "body": {
            "brief": {"product": PRODUCTS[brand], "audience": rng.choice(AUDIENCES), "channel": "ad"},
            "n": 1 if rng.random() < 0.75 else 2, "temperature": 0.8, "top_p": 0.95, "seed": i,
            "max_new_tokens": rng.randint(max_new_tokens // 2, max_new_tokens), "async": True}})
    return work


def _seed(base: str, scratch: Path) -> list[tuple[int, str]]:
    """8 brands, each with an active random adapter over `base` and an API key; [(brand id, key)]."""
    from django.conf import settings

    from ml.serving.random_adapters import make_random_adapter
    from models_store import get_store
    from prefcontent.accounts.models import ApiKey, Organization
    from prefcontent.adapters.models import AdapterVersion
    from prefcontent.brands.models import Brand
    from prefcontent.core import secrets

    org = Organization.objects.create(name="Serve bench", slug=f"serve-{uuid.uuid4().hex[:6]}")
    store = get_store(settings.MODELS_STORE_URL)
    brands = []
    for i in range(BRANDS):
        brand = Brand.objects.create(organization=org, name=f"Brand {i}", slug=f"brand-{i}")
        adapter = make_random_adapter(Path(base), scratch / "adapters" / f"brand-{i}", seed=100 + i,
                                      rank=8 if i % 2 == 0 else 16)
        ref = store.put_dir(adapter, f"adapters/brand-{brand.pk}/v1")
        AdapterVersion.objects.create(brand=brand, version=1, status="active", artifact_key=ref.key,
                                      sha256=ref.sha256, size_bytes=ref.size_bytes, base_model_id=base)
        issued = secrets.issue_secret(settings.API_KEY_PREFIX)
        ApiKey.objects.create(brand=brand, name="bench", prefix=issued.prefix, secret_hash=issued.secret_hash,
                              scopes=["generate"])
        brands.append((brand.pk, issued.plaintext))
    return brands


class Worker:
    """One Celery worker process on the generate queue, its metrics in a folder of its own."""

    def __init__(self, env: dict, *, pool: str, concurrency: int, scratch: Path, nice: int = 0):
        self.metrics_dir = Path(tempfile.mkdtemp(dir=scratch, prefix="metrics-"))
        self.log_path = scratch / f"worker-{pool}.log"
        self.proc = subprocess.Popen(
            ["nice", "-n", str(nice), sys.executable, "-m", "celery", "-A", "prefcontent", "worker", "-Q", "generate", "--pool", pool,
             "-c", str(concurrency), "-n", f"bench-{pool}-{uuid.uuid4().hex[:6]}@%h", "--loglevel", "WARNING"],
            cwd=ROOT, env={**env, "PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir)},
            stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT, start_new_session=True)  # noqa: SIM115

    def batch_rows(self) -> tuple[float, float]:
        """(sum, count) of the worker's prefcontent_decode_batch_rows histogram so far."""
        from prometheus_client import CollectorRegistry
        from prometheus_client.multiprocess import MultiProcessCollector

        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(self.metrics_dir))
        total = count = 0.0
        for metric in registry.collect():
            if metric.name == "prefcontent_decode_batch_rows":
                for sample in metric.samples:
                    total += sample.value if sample.name.endswith("_sum") else 0.0
                    count += sample.value if sample.name.endswith("_count") else 0.0
        return total, count

    def stop(self) -> None:
        import signal

        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


def _post(port: int, brands, work: list[dict]) -> list[tuple[int, float]]:
    """POST every request at once from 16 client threads; [(job id, wall-clock send time)] in work order."""
    from django.urls import reverse

    def one(item: dict) -> tuple[int, float]:
        brand_id, key = brands[item["brand"]]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        sent = time.time()
        conn.request("POST", reverse("brand-generate", kwargs={"brand_id": brand_id}),
                     body=json.dumps(item["body"]), headers={"Content-Type": "application/json", "X-API-Key": key})
        response = conn.getresponse()
        data = response.read()
        conn.close()
        if response.status != 202:
            raise RuntimeError(f"generate answered {response.status}: {data[:500]!r}")
        return json.loads(data)["id"], sent

    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(one, work))


def _wait_done(job_ids: list[int], worker: Worker, timeout: float) -> list:
    from prefcontent.generation.models import GenerationJob

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = list(GenerationJob.objects.filter(pk__in=job_ids))
        if len(jobs) == len(job_ids) and all(j.is_done for j in jobs):
            failed = [(j.pk, j.error_code, j.error_message) for j in jobs if j.state != "succeeded"]
            if failed:
                raise RuntimeError(f"jobs failed: {failed[:3]}")
            return jobs
        if worker.proc.poll() is not None:
            raise RuntimeError(f"the worker died: {worker.log_path.read_text()[-3000:]}")
        time.sleep(0.25)
    raise RuntimeError(f"jobs not done in {timeout:.0f} s; worker log: {worker.log_path.read_text()[-3000:]}")


def _through_api(server: BenchServer, brands, work, worker: Worker, timeout: float) -> dict:
    from prefcontent.generation.models import GeneratedCandidate

    # Warm: model and every brand's adapter loaded (short budgets: the warm-up is not measured).
    warm = [dict(item, body={**item["body"], "seed": 10_000 + i, "max_new_tokens": 4})
            for i, item in enumerate(work[:BRANDS])]
    _wait_done([job for job, _ in _post(server.port, brands, warm)], worker, timeout)
    rows_before = worker.batch_rows()
    start = time.time()
    sent = _post(server.port, brands, work)
    jobs = {j.pk: j for j in _wait_done([job for job, _ in sent], worker, timeout)}
    rows_after = worker.batch_rows()
    end = max(j.finished_at.timestamp() for j in jobs.values())
    claims = sorted(j.started_at.timestamp() - start for j in jobs.values())
    print(f"# timeline (s from the first POST): last POST sent {max(at for _, at in sent) - start:.1f}, "
          f"claims {claims[0]:.1f}..{claims[-1]:.1f}, last finished {end - start:.1f}", file=sys.stderr)
    tokens = sum(GeneratedCandidate.objects.filter(job_id__in=jobs).values_list("token_count", flat=True))
    latencies = [(jobs[job].finished_at.timestamp() - at) * 1000.0 for job, at in sent]
    steps = rows_after[1] - rows_before[1]
    return {"tokens": tokens, "seconds": end - start, "latencies": latencies, "jobs": [jobs[j] for j, _ in sent],
            "mean_batch": (rows_after[0] - rows_before[0]) / steps if steps else 0.0}


def _engine_direct(base: str, jobs) -> dict:
    """The jobs' own requests (prompt, adapter, seed, budget, channel form: as generation.facade builds
    them) submitted at once to one Engine."""
    from ml.serving import Engine, EngineConfig, GenerateRequest, SamplingCaps
    from prefcontent.adapters.selectors import adapter_local_path
    from prefcontent.content.channels import channel_form
    from prefcontent.generation.facade import brand_adapter_id

    def request(job, seed_offset: int = 0) -> GenerateRequest:
        adapter, shape, params = job.adapter_version, channel_form(job.channel), job.params
        return GenerateRequest(
            prompt=job.prompt, adapter_id=brand_adapter_id(brand_id=adapter.brand_id, version=adapter.version,
                                                           adapter_pk=adapter.pk),
            adapter_path=str(adapter_local_path(adapter)), adapter_sha256=adapter.sha256, n=params["n"],
            temperature=params["temperature"], top_p=params["top_p"], max_new_tokens=params["max_new_tokens"],
            seed=params["seed"] + seed_offset, one_line=shape.one_line, max_chars=shape.max_chars)

    engine = Engine(base, EngineConfig(caps=SamplingCaps(max_n=32, max_new_tokens=256)))
    try:
        seen = {}
        for job in jobs:  # warm: every brand's adapter loaded, as in the warmed worker
            seen.setdefault(job.brand_id, job)
        for future in [engine.submit(request(job, 10_000)) for job in seen.values()]:
            future.result()
        steps, rows = engine.stats.decode_steps, engine.stats.decoded_rows
        start = time.perf_counter()
        results = [f.result() for f in [engine.submit(request(job)) for job in jobs]]
        seconds = time.perf_counter() - start
        steps, rows = engine.stats.decode_steps - steps, engine.stats.decoded_rows - rows
        return {"tokens": sum(sum(r.token_counts) for r in results), "seconds": seconds,
                "mean_batch": rows / steps if steps else 0.0}
    finally:
        engine.close()


def _p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="32-token budgets (and a tiny model without SmolLM2)")
    parser.add_argument("--base", help="a model directory (default: the installed SmolLM2)")
    parser.add_argument("--max-new-tokens", type=int, help="largest completion budget (default 64, 32 with --quick)")
    parser.add_argument("--threads", type=int, default=REQUESTS, help="task threads of the serving worker")
    parser.add_argument("--skip-old", action="store_true", help="leave out the one-job-at-a-time worker")
    parser.add_argument("--old-requests", type=int,
                        help="requests for the one-job-at-a-time worker, the first of the 64 (default 64, 16 with "
                             "--quick: it runs them one after the other, so its tokens/s does not need all 64)")
    args = parser.parse_args()
    max_new_tokens = args.max_new_tokens or (32 if args.quick else 64)
    old_requests = max(BRANDS, min(REQUESTS, args.old_requests or (16 if args.quick else REQUESTS)))
    scratch = Path(tempfile.mkdtemp(prefix="serve-bench-"))
    base, base_name = _base(args, scratch)
    broker = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
    os.environ.update({"CELERY_BROKER_URL": broker, "PREFCONTENT_BASE_MODEL": base,
                       "MODELS_STORE_URL": str(scratch / "models_store"), "PREFCONTENT_WORK_DIR": str(scratch / "work"),
                       "GENERATE_MAX_NEW_TOKENS": str(max(64, max_new_tokens)), "GENERATE_DEVICE": "cpu",
                       "GENERATE_TASK_TIME_LIMIT": "1800", "LOG_LEVEL": "WARNING"})
    server = BenchServer(workers=2, prefix="bench_serve")
    server.create_database()
    try:
        from prefcontent.celery import app

        app.control.purge()
        brands = _seed(base, scratch)
        work = _workload(random.Random(11), max_new_tokens)
        server.start()
        env = server.env()
        timeout = 3600.0
        worker = Worker(env, pool="threads", concurrency=args.threads, scratch=scratch)
        try:
            serve = _through_api(server, brands, work, worker, timeout)
        finally:
            worker.stop()
        engine = _engine_direct(base, serve["jobs"])
        old = None
        if not args.skip_old:
            worker = Worker(env, pool="prefork", concurrency=1, scratch=scratch)
            try:
                old = _through_api(server, brands, work[:old_requests], worker, timeout)
            finally:
                worker.stop()
    finally:
        server.stop()
    serve_tps = serve["tokens"] / serve["seconds"]
    engine_tps = engine["tokens"] / engine["seconds"]
    print(f"serve_base={base_name}")
    print(f"serve_requests={REQUESTS}")
    print(f"serve_brands={BRANDS}")
    print(f"serve_tokens={serve['tokens']}")
    print(f"engine_tokens={engine['tokens']}")
    print(f"serve_tokens_per_s={serve_tps:.1f}")
    print(f"engine_tokens_per_s={engine_tps:.1f}")
    print(f"serve_vs_engine={serve_tps / engine_tps:.3f}")
    print(f"serve_mean_batch={serve['mean_batch']:.2f}")
    print(f"engine_mean_batch={engine['mean_batch']:.2f}")
    print(f"serve_p50_ms={_p(serve['latencies'], 50):.0f}")
    print(f"serve_p99_ms={_p(serve['latencies'], 99):.0f}")
    if old is not None:
        old_tps = old["tokens"] / old["seconds"]
        print(f"old_worker_requests={old_requests}")
        print(f"old_worker_tokens_per_s={old_tps:.2f}")
        print(f"old_worker_mean_batch={old['mean_batch']:.2f}")
        print(f"old_worker_p99_ms={_p(old['latencies'], 99):.0f}")
        print(f"serve_vs_old_worker={serve_tps / old_tps:.2f}")
    print("loadavg_1_5_15=" + ",".join(f"{v:.2f}" for v in os.getloadavg()))
    print(f"serve_vs_engine_ok={int(serve_tps / engine_tps >= 0.7)}")
    print(f"serve_mean_batch_ok={int(serve['mean_batch'] > 4)}")


if __name__ == "__main__":
    main()
