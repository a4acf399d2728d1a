"""A decision chunk's assignment totals: rolled counters plus the tail, against counting every row.

A fresh PostgreSQL database (DATABASE_URL's server, bench/ingest.py's BenchServer): --experiments
two-arm experiments with --per-experiment stored assignments each (COPY), rolled once; then
--tail new assignments spread over them (the minute since the last roll). For chunks of 100
experiments, in the same process: the old count of every Assignment row of the chunk (the query the
decision ran at every look) and `assigned_totals` (the arms' counters and the rows after the
watermark), both checked equal.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/assigned_totals.py

Prints assigned_scan_ms_per_chunk, assigned_counters_ms_per_chunk, assigned_scan_vs_counters and
assignments_roll_ms (one roll of the tail).
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ingest import BenchServer  # noqa: E402

CHUNK = 100


def _seed(experiments: int, per_experiment: int, rng: random.Random) -> list[int]:
    from django.db import connection

    from prefcontent.accounts.models import Organization
    from prefcontent.brands.models import Brand
    from prefcontent.content.hashing import content_hash
    from prefcontent.content.models import Variant
    from prefcontent.experiments.models import Arm, Experiment

    org = Organization.objects.create(name="Bench", slug=f"bench-{uuid.uuid4().hex[:6]}")
    brand = Brand.objects.create(organization=org, name="Bench", slug="bench")
    arms: list[tuple[int, int, int]] = []
    for i in range(experiments):
        experiment = Experiment.objects.create(brand=brand, name=f"x{i}", status="running", allocation="thompson",
                                               started_at=datetime.now(UTC) - timedelta(days=3))
        pair = []
        for k in range(2):
            text = f"Headline {i}-{k}"
            variant = Variant.objects.create(brand=brand, text=text, content_hash=content_hash(text))
            pair.append(Arm.objects.create(experiment=experiment, variant=variant, is_control=k == 0, weight=0.5).pk)
        arms.append((experiment.pk, *pair))
    old = datetime.now(UTC) - timedelta(hours=1)
    with connection.cursor() as cursor, cursor.connection.cursor() as cur, cur.copy(
            "COPY experiments_assignment (experiment_id, arm_id, unit_hash, propensity, holdout, created_at) "
            "FROM STDIN") as copy:
        for exp_id, a, b in arms:
            for u in range(per_experiment):
                held = rng.random() < 0.05
                copy.write_row((exp_id, a if rng.random() < 0.5 else b, f"{exp_id}-{u}",
                                None if held else rng.uniform(0.1, 0.9), held, old))
    return [a[0] for a in arms]


def _tail(ids: list[int], n: int, rng: random.Random, tag: str) -> None:
    from prefcontent.experiments.models import Arm, Assignment

    arms = {}
    for arm_id, exp_id in Arm.objects.filter(experiment_id__in=ids).values_list("id", "experiment_id"):
        arms.setdefault(exp_id, []).append(arm_id)
    Assignment.objects.bulk_create([
        Assignment(experiment_id=(e := rng.choice(ids)), arm_id=rng.choice(arms[e]), unit_hash=f"{tag}-{i}",
                   propensity=rng.uniform(0.1, 0.9), holdout=False,
                   created_at=datetime.now(UTC) - timedelta(seconds=30)) for i in range(n)], batch_size=5000)


def _scan(experiment_ids: list[int]) -> dict:
    """The query the decision ran before: every Assignment row of the experiments, counted."""
    from django.db.models import Count, F, FloatField, Q, Sum
    from django.db.models.functions import Cast

    from prefcontent.experiments.assigned import AssignedTotals
    from prefcontent.experiments.models import Assignment

    tested, weighted = Q(holdout=False), Q(holdout=False, propensity__gt=0)
    out: dict = {}
    for r in Assignment.objects.filter(experiment_id__in=experiment_ids).values("experiment_id", "arm_id").annotate(
            n=Count("id", filter=tested), w=Count("id", filter=weighted), h=Count("id", filter=Q(holdout=True)),
            v=Sum(1.0 / (Cast(F("propensity"), FloatField()) * F("propensity")), filter=weighted)):
        out.setdefault(r["experiment_id"], {})[r["arm_id"]] = AssignedTotals(r["n"], r["w"], float(r["v"] or 0), r["h"])
    return out


def _assert_same(got: dict, want: dict) -> None:
    for exp_id, arms in want.items():
        for arm_id, t in arms.items():
            mine = got[exp_id][arm_id]
            if (mine.assigned, mine.weighted, mine.held_out) != (t.assigned, t.weighted, t.held_out) or \
                    abs(mine.inverse_square - t.inverse_square) > 1e-6 * max(1.0, t.inverse_square):
                raise AssertionError(f"arm {arm_id}: counters {mine} != scan {t}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--experiments", type=int, default=500)
    parser.add_argument("--per-experiment", type=int, default=4000)
    parser.add_argument("--tail", type=int, default=20_000, help="assignments since the last roll")
    args = parser.parse_args()
    server = BenchServer(workers=1, prefix="pc_bench_assigned")
    server.create_database()
    try:
        rng = random.Random(7)
        ids = _seed(args.experiments, args.per_experiment, rng)
        from django.db import connection

        from prefcontent.experiments.assigned import assigned_totals, assignments_roll

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE experiments_assignment")
        assignments_roll()  # the history in the counters
        _tail(ids, args.tail, rng, "rolled")
        t = time.perf_counter()
        assignments_roll()
        roll_ms = (time.perf_counter() - t) * 1000
        _tail(ids, args.tail, rng, "tail")  # and the minute since that roll, in the tail

        chunks = [ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK)]
        scan_ms, counter_ms = [], []
        for _ in range(3):
            for chunk in chunks:
                t = time.perf_counter()
                want = _scan(chunk)
                scan_ms.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                got = assigned_totals(chunk)
                counter_ms.append((time.perf_counter() - t) * 1000)
                _assert_same(got, want)
        scan, counters = statistics.median(scan_ms), statistics.median(counter_ms)
        print(f"assigned_experiments={args.experiments} assigned_rows={args.experiments * args.per_experiment + 2 * args.tail}")
        print(f"assigned_scan_ms_per_chunk={scan:.1f}")
        print(f"assigned_counters_ms_per_chunk={counters:.1f}")
        print(f"assigned_scan_vs_counters={scan / counters:.1f}")
        print(f"assignments_roll_ms={roll_ms:.0f} (rows {args.tail})")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
