"""Reader counters and hourly roll-ups, kept by ingestion from the events a batch inserted.

For every (experiment, arm, unit) the batch touched, one upsert of its Reader row returns the
row's totals after the batch; the totals before are those minus the batch's own deltas, so the
arm's counters move by exactly what changed: a new reader, a first impression, y^2 - y0^2. The
caller runs this in the transaction that inserted the events, in sorted key order (events, then
readers, then hours, then arms), so concurrent batches take their locks in one order.

Readers of the brand's holdout (their assignment says so) get a Reader row marked `holdout` and move
no reader counter of the arm, only its `held_*` ones: the decision leaves them out and subtracts their
events (holdout.py).

`counters_rebuild` recomputes all of it from the raw events (migration 0005's backfill and the
`experiments_rebuild_counters` repair command).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from django.db import connection

from prefcontent.experiments.models import ArmHour, Assignment, Reader

# Arm fields a batch may add to besides the event counters.
READER_FIELDS = ("readers", "exposed_units", "success_sq", "weighted_successes", "weighted_success_sq",
                 "ipw_successes", "ipw_success_sq", "unweighted_readers", "held_readers", "held_impressions",
                 "held_successes")


def _pg_array(values) -> str:
    return "{" + ",".join("NULL" if v is None else (f'"{v}"' if isinstance(v, str) else str(v)) for v in values) + "}"


def _upsert(table: str, cols: tuple[str, ...], types: tuple[str, ...], key: tuple[str, ...],
            add: tuple[str, ...], returning: tuple[str, ...], rows: list[tuple]) -> list[tuple]:
    """INSERT rows, adding `add` columns to an existing row with the same `key`; the rows after, via RETURNING."""
    sets = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in add)
    tail = f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {sets} RETURNING {', '.join(returning)}"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # unnest of one array per column: a few parameters whatever the batch size (see ingestion.py).
            arrays = ", ".join(f"%s::{t}[]" for t in types)
            cursor.execute(f"INSERT INTO {table} ({', '.join(cols)}) SELECT * FROM unnest({arrays}) {tail}",
                           [_pg_array(c) for c in zip(*rows, strict=True)])
        else:
            placeholders = ", ".join(["(" + ", ".join(["%s"] * len(cols)) + ")"] * len(rows))
            cursor.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES {placeholders} {tail}",
                           [v for row in rows for v in row])
        return cursor.fetchall()


def _assignments(keys: list[tuple[int, int, str]], adaptive: set[int]
                 ) -> tuple[dict[tuple[int, int, str], float], set[tuple[int, str]]]:
    """One query per experiment for the batch's units' assignments: (experiment, arm, unit) -> propensity
    where the assignment is to that arm with p > 0 (Thompson experiments only), and the (experiment,
    unit) pairs held out (the brand's holdout)."""
    by_experiment: dict[int, set[str]] = defaultdict(set)
    for exp_id, _, unit in keys:
        by_experiment[exp_id].add(unit)
    propensity, held = {}, set()
    for exp_id, units in by_experiment.items():
        rows = Assignment.objects.filter(experiment_id=exp_id, unit_hash__in=units)
        if exp_id not in adaptive:
            rows = rows.filter(holdout=True)
        for arm_id, unit, p, holdout in rows.values_list("arm_id", "unit_hash", "propensity", "holdout"):
            if holdout:
                held.add((exp_id, unit))
            if exp_id in adaptive and p is not None and p > 0:
                propensity[exp_id, arm_id, unit] = p
    return propensity, held


def count_batch(inserted: list[tuple], experiments: dict[int, tuple[str, bool]], now: datetime
                ) -> dict[int, dict[str, float]]:
    """Upsert the Reader and ArmHour rows of the inserted event rows; the arms' counter increments.

    `inserted`: event rows (brand, experiment, arm, event_id, type, unit_hash, occurred_at, received_at);
    `experiments`: experiment id -> (primary metric, adaptive). Returns arm id -> {field: increment}
    for the event counters and READER_FIELDS together."""
    increments: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(int))
    deltas: dict[tuple[int, int, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    hours: dict[tuple[int, datetime], list[int]] = defaultdict(lambda: [0, 0, 0])
    for _, exp_id, arm_id, _, kind, unit, occurred, _ in inserted:
        delta = deltas[exp_id, arm_id, unit]
        delta[0] += 1
        delta[1] += kind == "impression"
        delta[2] += kind == experiments[exp_id][0]
        slot = {"impression": 0, "click": 1, "conversion": 2}[kind]
        hours[arm_id, occurred.astimezone(UTC).replace(minute=0, second=0, microsecond=0)][slot] += 1
        increments[arm_id][("impressions", "clicks", "conversions")[slot]] += 1
    keys = sorted(deltas)
    propensity, held = _assignments(keys, {exp_id for exp_id, (_, adaptive) in experiments.items() if adaptive})
    stamp = connection.ops.adapt_datetimefield_value(now) if connection.vendor != "postgresql" else now.isoformat()
    rows = [(*k, *deltas[k], propensity.get(k), (k[0], k[2]) in held, stamp) for k in keys]
    after = _upsert(Reader._meta.db_table,
                    ("experiment_id", "arm_id", "unit_hash", "events", "impressions", "successes", "propensity",
                     "holdout", "first_seen_at"),
                    ("bigint", "bigint", "varchar", "bigint", "bigint", "bigint", "float8", "boolean", "timestamptz"),
                    ("experiment_id", "arm_id", "unit_hash"), ("events", "impressions", "successes"),
                    ("experiment_id", "arm_id", "unit_hash", "events", "impressions", "successes", "propensity",
                     "holdout"),
                    rows)
    for exp_id, arm_id, unit, events, impressions, successes, p, holdout in after:
        d_events, d_impressions, d_successes = deltas[exp_id, arm_id, unit]
        arm = increments[arm_id]
        new = events == d_events  # no events before this batch: the row is new
        if holdout:  # the stored row's flag, as the decision's subtraction reads it
            arm["held_readers"] += new
            arm["held_impressions"] += d_impressions
            arm["held_successes"] += d_successes
            continue
        arm["readers"] += new
        arm["exposed_units"] += impressions > 0 and impressions == d_impressions
        y0 = successes - d_successes
        square = successes * successes - y0 * y0
        arm["success_sq"] += square
        if experiments[exp_id][1]:
            if p is not None and p > 0:
                arm["weighted_successes"] += d_successes
                arm["weighted_success_sq"] += square
                arm["ipw_successes"] += d_successes / p
                arm["ipw_success_sq"] += square / (p * p)
            elif new:
                arm["unweighted_readers"] += 1
    hour_stamp = (lambda h: h.isoformat()) if connection.vendor == "postgresql" else \
        connection.ops.adapt_datetimefield_value
    _upsert(ArmHour._meta.db_table, ("arm_id", "hour", "impressions", "clicks", "conversions"),
            ("bigint", "timestamptz", "bigint", "bigint", "bigint"), ("arm_id", "hour"),
            ("impressions", "clicks", "conversions"), ("arm_id",),
            [(arm_id, hour_stamp(hour), *hours[arm_id, hour]) for arm_id, hour in sorted(hours)])
    return increments


def counters_rebuild(cursor, vendor: str, experiment_ids: list[int] | None = None, *, held: bool = True) -> None:
    """Recompute the Reader rows, the arms' reader counters and the hourly roll-ups of these experiments
    (all when None) from their raw events; the event counters are left as they are. Plain SQL on the
    tables as migration 0005 left them, so its backfill can run it (`held=False` there: the held-out
    counters come with 0007, whose backfill calls held_counters_rebuild).

    A reader's propensity is its assignment's (to the same arm, p > 0) as stored now."""
    if experiment_ids is not None and not experiment_ids:
        return
    marks = ", ".join(["%s"] * len(experiment_ids or []))
    scope = f"experiment_id IN ({marks})" if experiment_ids is not None else "experiment_id IS NOT NULL"
    arm_scope = "experiments_arm." + scope
    params = list(experiment_ids or [])
    cursor.execute(f"DELETE FROM experiments_reader WHERE {scope}", params)
    cursor.execute(f"DELETE FROM experiments_armhour WHERE arm_id IN (SELECT id FROM experiments_arm WHERE {scope})",
                   params)
    cursor.execute(
        "INSERT INTO experiments_reader (experiment_id, arm_id, unit_hash, events, impressions, successes, "
        "propensity, holdout, first_seen_at) SELECT e.experiment_id, e.arm_id, e.unit_hash, COUNT(*), "
        "SUM(CASE WHEN e.type = 'impression' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN e.type = x.primary_metric THEN 1 ELSE 0 END), "
        "(SELECT a.propensity FROM experiments_assignment a WHERE x.allocation = 'thompson' AND "
        "a.experiment_id = e.experiment_id AND a.unit_hash = e.unit_hash AND a.arm_id = e.arm_id "
        "AND a.propensity > 0), EXISTS (SELECT 1 FROM experiments_assignment h WHERE h.experiment_id = e.experiment_id "
        "AND h.unit_hash = e.unit_hash AND h.holdout), MIN(e.received_at) "
        "FROM experiments_event e JOIN experiments_experiment x ON x.id = e.experiment_id "
        f"WHERE e.{scope} GROUP BY e.experiment_id, e.arm_id, e.unit_hash, x.primary_metric, x.allocation", params)
    of_arm = ("FROM experiments_reader r WHERE r.experiment_id = experiments_arm.experiment_id "
              "AND r.arm_id = experiments_arm.id AND NOT r.holdout")  # the unique index's prefix
    cursor.execute(
        f"UPDATE experiments_arm SET readers = (SELECT COUNT(*) {of_arm}), "
        f"exposed_units = (SELECT COUNT(*) {of_arm} AND r.impressions > 0), "
        f"success_sq = (SELECT COALESCE(SUM(r.successes * r.successes), 0) {of_arm}), "
        f"weighted_successes = (SELECT COALESCE(SUM(r.successes), 0) {of_arm} AND r.propensity > 0), "
        f"weighted_success_sq = (SELECT COALESCE(SUM(r.successes * r.successes), 0) {of_arm} AND r.propensity > 0), "
        f"ipw_successes = (SELECT COALESCE(SUM(r.successes / r.propensity), 0) {of_arm} AND r.propensity > 0), "
        f"ipw_success_sq = (SELECT COALESCE(SUM(r.successes * r.successes / (r.propensity * r.propensity)), 0) "
        f"{of_arm} AND r.propensity > 0), "
        f"unweighted_readers = (SELECT COUNT(*) {of_arm} AND r.propensity IS NULL AND EXISTS (SELECT 1 FROM "
        f"experiments_experiment x WHERE x.id = r.experiment_id AND x.allocation = 'thompson')) WHERE {arm_scope}",
        params)
    if held:
        held_counters_rebuild(cursor, experiment_ids)
    hour = ("date_trunc('hour', e.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'" if vendor == "postgresql"
            else "strftime('%%Y-%%m-%%d %%H:00:00', e.occurred_at)")
    cursor.execute(
        f"INSERT INTO experiments_armhour (arm_id, hour, impressions, clicks, conversions) SELECT e.arm_id, {hour}, "
        "SUM(CASE WHEN e.type = 'impression' THEN 1 ELSE 0 END), SUM(CASE WHEN e.type = 'click' THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN e.type = 'conversion' THEN 1 ELSE 0 END) FROM experiments_event e WHERE e.{scope} "
        f"GROUP BY e.arm_id, {hour}", params)


def held_counters_rebuild(cursor, experiment_ids: list[int] | None = None) -> None:
    """Recompute the arms' `held_*` counters from the held-out Reader rows (all arms when None)."""
    marks = ", ".join(["%s"] * len(experiment_ids or []))
    scope = f"experiment_id IN ({marks})" if experiment_ids is not None else "experiment_id IS NOT NULL"
    of_held = ("FROM experiments_reader r WHERE r.experiment_id = experiments_arm.experiment_id "
               "AND r.arm_id = experiments_arm.id AND r.holdout")
    cursor.execute(
        f"UPDATE experiments_arm SET held_readers = (SELECT COUNT(*) {of_held}), "
        f"held_impressions = (SELECT COALESCE(SUM(r.impressions), 0) {of_held}), "
        f"held_successes = (SELECT COALESCE(SUM(r.successes), 0) {of_held}) WHERE experiments_arm.{scope}",
        list(experiment_ids or []))
