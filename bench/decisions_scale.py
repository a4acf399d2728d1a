"""`bench/decisions.py --scale`: one decision pass over thousands of running experiments on PostgreSQL,
and what it costs event ingestion while it runs.

Creates a fresh database on DATABASE_URL's server (bench/ingest.py's BenchServer), seeds `--brands`
brands with `--per-brand` running two-arm experiments each (a tenth under Thompson allocation, with
stored assignments), their events by COPY and the counters by the repair path (counters_rebuild, the
migration's backfill). Starts gunicorn and a real Celery worker (`--concurrency` processes, the
embedded broker in a private folder). Then, in the same run:

1. ingestion alone: `--batches` batches of 500 new events over the experiments of `--hot-brands`
   brands, through POST /api/v1/events (bench/ingest.py's load driver), before the pass and again
   after it (ingest_alone_per_s is the mean of the two);
2. one full decision pass (the periodic task's dispatcher, here in this process: plan, one
   experiments.decide_chunk task per 100 experiments, decided by the worker) while the same number of
   new batches is ingested; the pass is done when every experiment running at its start has been
   analysed since (or has ended).

The worker runs `--worker-nice` (default 4) below this process's CPU priority; 0 gives it the same.

Prints decision_pass_s (floor < 60), ingest_alone_per_s, ingest_during_pass_per_s,
ingest_during_pass_ratio (floor >= 0.9), ingest_overlap (the share of the second load's time that fell
inside the pass: the ratio means what it says only near 1) and decision_pass_experiments.
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ingest import BATCH, BenchServer, load, run_load_process  # noqa: E402

READERS_PER_ARM = 10


def seed(brands: int, per_brand: int, rng: random.Random) -> tuple[list[str], list[list[tuple[int, list[int]]]]]:
    """Brands, keys, experiments and their events; (API key per brand, [(experiment, arm ids)] per brand)."""
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from prefcontent.accounts.models import ApiKey, Organization
    from prefcontent.brands.models import Brand
    from prefcontent.content.hashing import content_hash
    from prefcontent.content.models import Variant
    from prefcontent.core import secrets
    from prefcontent.experiments.counters import counters_rebuild
    from prefcontent.experiments.models import Arm, Experiment
    from prefcontent.experiments.units import unit_hasher

    started = timezone.now() - timedelta(hours=2)
    org = Organization.objects.create(name="Bench", slug=f"bench-{uuid.uuid4().hex[:6]}")
    brand_rows = Brand.objects.bulk_create([Brand(organization=org, name=f"Bench {b}", slug=f"bench-{b}")
                                            for b in range(brands)])
    keys = []
    for brand in brand_rows:
        issued = secrets.issue_secret(settings.API_KEY_PREFIX)
        ApiKey.objects.create(brand=brand, name="bench", prefix=issued.prefix, secret_hash=issued.secret_hash,
                              scopes=["events:write", "assign"])
        keys.append(issued.plaintext)
    experiments = Experiment.objects.bulk_create([
        Experiment(brand=brand, name=f"bench {b}-{e}", status="running", started_at=started, min_sample_per_arm=100,
                   allocation="thompson" if (b * per_brand + e) % 10 == 0 else "fixed")
        for b, brand in enumerate(brand_rows) for e in range(per_brand)])
    variants = Variant.objects.bulk_create([
        Variant(brand_id=x.brand_id, text=f"Headline {x.pk}-{i}", content_hash=content_hash(f"Headline {x.pk}-{i}"))
        for x in experiments for i in range(2)])
    Arm.objects.bulk_create([Arm(experiment=x, variant=variants[2 * n + i], is_control=i == 0, weight=0.5)
                             for n, x in enumerate(experiments) for i in range(2)])
    arms: dict[int, list[int]] = {}
    for arm_id, exp_id in Arm.objects.order_by("id").values_list("id", "experiment_id"):
        arms.setdefault(exp_id, []).append(arm_id)
    hashers = {b.pk: unit_hasher(b.pk) for b in brand_rows}
    now = datetime.now(UTC)
    events, assignments = [], []
    for x in experiments:
        for index, arm_id in enumerate(arms[x.pk]):
            for r in range(READERS_PER_ARM):
                unit = hashers[x.brand_id](f"seed-{x.pk}-{index}-{r}")
                if x.allocation == "thompson":
                    assignments.append((x.pk, arm_id, unit, 0.5, now))
                views = 1 + rng.randrange(3)
                kinds = ["impression"] * views + ["click"] * sum(rng.random() < 0.05 for _ in range(views))
                events += [(x.brand_id, x.pk, arm_id, f"seed-{x.pk}-{arm_id}-{r}-{k}", kind, unit,
                            started + timedelta(minutes=rng.randrange(110)), now) for k, kind in enumerate(kinds)]
    with connection.cursor() as cursor:
        raw = cursor.connection
        with raw.cursor() as cur:
            with cur.copy("COPY experiments_event (brand_id, experiment_id, arm_id, event_id, type, unit_hash, "
                          "occurred_at, received_at) FROM STDIN") as copy:
                for row in events:
                    copy.write_row(row)
            with cur.copy("COPY experiments_assignment (experiment_id, arm_id, unit_hash, propensity, created_at) "
                          "FROM STDIN") as copy:
                for row in assignments:
                    copy.write_row(row)
        cursor.execute(
            "UPDATE experiments_arm SET impressions = c.i, clicks = c.c, conversions = c.v FROM (SELECT arm_id, "
            "COUNT(*) FILTER (WHERE type = 'impression') i, COUNT(*) FILTER (WHERE type = 'click') c, "
            "COUNT(*) FILTER (WHERE type = 'conversion') v FROM experiments_event GROUP BY arm_id) c "
            "WHERE c.arm_id = experiments_arm.id")
        counters_rebuild(cursor, connection.vendor)
        cursor.execute("ANALYZE")
    per_brand_experiments: list[list[tuple[int, list[int]]]] = [[] for _ in brand_rows]
    index = {b.pk: n for n, b in enumerate(brand_rows)}
    for x in experiments:
        per_brand_experiments[index[x.brand_id]].append((x.pk, arms[x.pk]))
    print(f"seeded_experiments={len(experiments)} seeded_events={len(events)} seeded_assignments={len(assignments)}")
    return keys, per_brand_experiments


def bodies(keys, experiments, hot: int, n_batches: int, tag: str, rng: random.Random) -> tuple[list[str], list[bytes]]:
    """`n_batches` batches of new readers' events, each batch one of the `hot` brands' experiments."""
    stamp = datetime.now(UTC).isoformat()
    out_keys, out = [], []
    for b in range(n_batches):
        brand = b % hot
        batch = []
        for i in range(BATCH):
            exp_id, arm_ids = rng.choice(experiments[brand])
            batch.append({"event_id": f"{tag}-{b}-{i}", "experiment": exp_id, "arm": rng.choice(arm_ids),
                          "type": rng.choices(("impression", "click"), weights=(90, 10))[0],
                          "unit_id": f"{tag}-reader-{rng.randrange(10**6)}", "timestamp": stamp})
        out_keys.append(keys[brand])
        out.append(json.dumps({"events": batch}).encode())
    return out_keys, out


def start_worker(server: BenchServer, concurrency: int, broker_dir: str, nice: int) -> tuple[subprocess.Popen, object]:
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)  # noqa: SIM115 - read after stop
    env = {**server.env(), "CELERY_BROKER_DIR": broker_dir}
    # A batch pass runs below the request path's CPU priority (`nice` more), as a deployment would give
    # its decision workers a lower priority or their own nodes: on a 2-core box it otherwise takes the
    # cores the API needs.
    proc = subprocess.Popen(["nice", "-n", str(nice), sys.executable, "-m", "celery", "-A", "prefcontent", "worker", "-Q", "default",
                             "-c", str(concurrency), "--pool", "prefork", "-l", "info", "--without-gossip",
                             "--without-mingle", "--without-heartbeat"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if " ready." in Path(log.name).read_text(errors="replace"):
            return proc, log
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    raise RuntimeError(f"celery worker did not start: {Path(log.name).read_text()[-4000:]}")


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and its children (the worker's pool), from /proc."""
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def _postgres_cpu_s() -> float:
    """CPU seconds of every PostgreSQL server process alive now (backends of persistent connections live
    through a phase; the measure of where the pass's cost lands besides the worker)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if "(postgres)" in text:
            fields = text.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _machine_busy_s() -> float:
    """CPU seconds the whole machine spent busy (all cores, from /proc/stat): with a phase's length, how
    close to saturated it ran."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _wal_bytes() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
        return int(cursor.fetchone()[0])


def run_scale(args) -> None:
    broker_dir = tempfile.mkdtemp(prefix="pc-bench-broker-")
    os.environ["CELERY_BROKER_DIR"] = broker_dir
    server = BenchServer(workers=args.workers, prefix="pc_bench_decide")
    worker = None
    try:
        server.create_database()
        rng = random.Random(args.seed)
        t = time.perf_counter()
        keys, experiments = seed(args.brands, args.per_brand, rng)
        print(f"seed_s={time.perf_counter() - t:.1f}")
        from django.db.models import Q
        from django.utils import timezone

        from prefcontent.experiments.decisions import experiments_decide_running
        from prefcontent.experiments.models import Event, Experiment

        server.start()
        worker, worker_log = start_worker(server, args.concurrency, broker_dir, args.worker_nice)
        hot = min(args.hot_brands, len(keys))
        warm_keys, warm = bodies(keys, experiments, hot, 4, "warm", rng)
        run_load_process(load, (server.port, warm_keys, warm, args.connections))  # connections, caches
        alone_keys, alone = bodies(keys, experiments, hot, args.batches, "alone", rng)  # before the pass
        wal, pg_cpu, web_cpu, busy = _wal_bytes(), _postgres_cpu_s(), _cpu_s(server.proc.pid), _machine_busy_s()
        alone_s, alone_totals = run_load_process(load, (server.port, alone_keys, alone, args.connections))
        alone_wal, alone_pg_cpu = _wal_bytes() - wal, _postgres_cpu_s() - pg_cpu
        alone_web_cpu, alone_busy = _cpu_s(server.proc.pid) - web_cpu, _machine_busy_s() - busy
        during_keys, during = bodies(keys, experiments, hot, args.batches, "during", rng)

        running = set(Experiment.objects.filter(status="running").values_list("id", flat=True))
        from multiprocessing import get_context

        ctx = get_context("spawn")
        out = ctx.Queue()
        loader = ctx.Process(target=load, args=(server.port, during_keys, during, args.connections, out))
        worker_cpu = _cpu_s(worker.pid)
        wal, pg_cpu, web_cpu, busy = _wal_bytes(), _postgres_cpu_s(), _cpu_s(server.proc.pid), _machine_busy_s()
        pass_start = timezone.now()
        t0 = time.perf_counter()
        loader.start()
        planned = experiments_decide_running()
        load_result, load_end = None, None
        pass_end = None
        while pass_end is None or load_result is None:
            if load_result is None and not out.empty():
                load_result, load_end = out.get(), time.perf_counter()
                load_busy, load_web_cpu = _machine_busy_s() - busy, _cpu_s(server.proc.pid) - web_cpu
            if pass_end is None:
                # Every experiment running at the start is, unless it ended: no 5,000-id list to
                # send and parse each time (a poll that cost the machine more than the pass did).
                left = (Experiment.objects.filter(status="running")
                        .filter(Q(analyzed_at__isnull=True) | Q(analyzed_at__lt=pass_start)).count())
                if left == 0:
                    pass_end = time.perf_counter()
                    worker_cpu = _cpu_s(worker.pid) - worker_cpu
            if time.perf_counter() - t0 > 900:
                raise RuntimeError("the pass did not finish in 900 s")
            time.sleep(0.5)
        loader.join(30)
        during_wal, during_pg_cpu = _wal_bytes() - wal, _postgres_cpu_s() - pg_cpu
        during_s, during_totals = load_result
        # Ingestion alone again after the pass: the baseline is the mean of before and after, so a shared
        # machine's drift over the run is not read as the pass's cost.
        after_keys, after = bodies(keys, experiments, hot, args.batches, "after", rng)
        after_s, after_totals = run_load_process(load, (server.port, after_keys, after, args.connections))
        load_start = load_end - during_s
        overlap = max(0.0, min(pass_end, load_end) - max(t0, load_start)) / during_s
        ended = Experiment.objects.filter(pk__in=running).exclude(status="running").count()
        before_rate, after_rate = alone_totals["accepted"] / alone_s, after_totals["accepted"] / after_s
        alone_rate = (before_rate + after_rate) / 2
        during_rate = during_totals["accepted"] / during_s
        expected = (args.batches * 3 + 4) * BATCH
        print(f"decision_pass_experiments={len(running)} decision_pass_chunks={planned['chunks']} "
              f"decision_pass_concluded={ended} worker_concurrency={args.concurrency} worker_nice={args.worker_nice}")
        worker_errors = Path(worker_log.name).read_text(errors="replace").count("ERROR")
        print(f"worker_errors={worker_errors} ingest_errors={alone_totals['errors'] + during_totals['errors']} "
              f"ingest_events_stored={Event.objects.filter(event_id__regex=r'^(warm|alone|during|after)-').count()} "
              f"ingest_events_sent={expected}")
        print(f"decision_pass_s={pass_end - t0:.2f}")
        print(f"decision_pass_worker_cpu_s={worker_cpu:.1f} ingest_before_pass_per_s={before_rate:.0f} "
              f"ingest_after_pass_per_s={after_rate:.0f}")
        print(f"ingest_alone_per_s={alone_rate:.0f}")
        print(f"ingest_during_pass_per_s={during_rate:.0f}")
        print(f"ingest_during_pass_ratio={during_rate / alone_rate:.3f}")
        print(f"ingest_overlap={overlap:.2f}")
        # Where the pass's cost lands: WAL and PostgreSQL CPU beyond what the same events cost alone.
        per_event_wal = alone_wal / max(alone_totals["accepted"], 1)
        per_event_cpu = alone_pg_cpu / max(alone_totals["accepted"], 1)
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT AVG(pg_column_size(last_analysis)) FROM experiments_experiment "
                           "WHERE analyzed_at IS NOT NULL")
            analysis_bytes = float(cursor.fetchone()[0] or 0)
        print(f"ingest_wal_bytes_per_event={per_event_wal:.0f} ingest_pg_cpu_us_per_event={per_event_cpu * 1e6:.0f}")
        print(f"decision_pass_wal_mb={(during_wal - per_event_wal * during_totals['accepted']) / 1e6:.1f} "
              f"decision_pass_pg_cpu_s={during_pg_cpu - per_event_cpu * during_totals['accepted']:.1f} "
              f"stored_analysis_bytes_mean={analysis_bytes:.0f}")
        cores = os.cpu_count() or 1
        print(f"machine_busy_alone={alone_busy / (alone_s * cores):.2f} "
              f"machine_busy_during={load_busy / ((load_end - t0) * cores):.2f} "
              f"web_cpu_us_per_event_alone={alone_web_cpu / max(alone_totals['accepted'], 1) * 1e6:.0f} "
              f"web_cpu_us_per_event_during={load_web_cpu / max(during_totals['accepted'], 1) * 1e6:.0f} "
              f"pg_cpu_us_per_event_during={during_pg_cpu / max(during_totals['accepted'], 1) * 1e6:.0f}")
    finally:
        if worker is not None and worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
        server.stop()
