"""Per-reader statistics of an experiment's arms, for the always-valid test (sequential.py).

A reader's outcome y is their count of the primary metric's events on the arm. Fixed allocation:
every reader with an event on the arm. Thompson allocation: every reader assigned with a stored
propensity (an assigned reader with no event has y = 0: assignment, not exposure, is what was
randomised), with the inverse-propensity sums; readers with events but no stored propensity cannot
be weighted and are left out (counted in `unweighted_readers`). Readers of the brand's holdout
(holdout.py) are no part of the test and are left out.

`reader_stats` reads the arms' reader counters that ingestion keeps (counters.py) and their assignment
totals (assigned.py); `reader_stats_scan` computes the same from the raw events, for
checks and the repair command. They differ in one case only: a reader whose assignment was stored
after its first event stays unweighted in the counters.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

from prefcontent.experiments.assigned import AssignedTotals
from prefcontent.experiments.models import Arm, Assignment, Event, success_counter
from prefcontent.experiments.sequential import ArmReaders


@dataclass(frozen=True)
class ReaderStats:
    arms: dict[int, ArmReaders]  # arm id -> statistics (arms without readers are absent)
    unweighted_readers: int  # Thompson only: readers with events but no stored propensity


def reader_stats(*, arms: list[Arm], metric: str, adaptive: bool, assigned: dict[int, AssignedTotals],
                 held_successes: dict[int, int] | None = None) -> ReaderStats:
    """From the arms' counters (no query): `assigned` is assigned_totals' entry for the experiment,
    `held_successes` the primary-metric events of held-out readers per arm (in the arm's event counter,
    not in its reader counters)."""
    if not adaptive:
        counter, held = success_counter(metric), held_successes or {}
        return ReaderStats({a.pk: ArmReaders(str(a.pk), a.readers, float(getattr(a, counter) - held.get(a.pk, 0)),
                                             float(a.success_sq))
                            for a in arms if a.readers}, 0)
    stats = {}
    for a in arms:
        totals = assigned.get(a.pk, AssignedTotals())
        if totals.weighted:
            stats[a.pk] = ArmReaders(str(a.pk), totals.weighted, float(a.weighted_successes),
                                     float(a.weighted_success_sq), a.ipw_successes, a.ipw_success_sq,
                                     totals.inverse_square)
    return ReaderStats(stats, sum(a.unweighted_readers for a in arms))


def _per_reader(metric: str) -> tuple[str, list]:
    """Per (arm, reader) outcomes; parameters: [metric], then the experiment id twice."""
    events, assignments = Event._meta.db_table, Assignment._meta.db_table
    return (f"SELECT arm_id, unit_hash, SUM(CASE WHEN type = %s THEN 1 ELSE 0 END) AS y FROM {events} e "
            f"WHERE experiment_id = %s AND NOT EXISTS (SELECT 1 FROM {assignments} h WHERE "
            f"h.experiment_id = %s AND h.unit_hash = e.unit_hash AND h.holdout) "
            f"GROUP BY arm_id, unit_hash"), [metric]


def reader_stats_scan(*, experiment_id: int, metric: str, adaptive: bool) -> ReaderStats:
    """The same statistics from one aggregate over the raw events (and assignments when `adaptive`)."""
    per_reader, params = _per_reader(metric)
    with connection.cursor() as cursor:
        if not adaptive:
            cursor.execute(f"SELECT arm_id, COUNT(*), SUM(y), SUM(y * y) FROM ({per_reader}) r GROUP BY arm_id",
                           [*params, experiment_id, experiment_id])
            rows = cursor.fetchall()
            return ReaderStats({arm: ArmReaders(str(arm), int(n), float(s or 0), float(q or 0))
                                for arm, n, s, q in rows}, 0)
        assignments = Assignment._meta.db_table
        cursor.execute(
            f"SELECT a.arm_id, COUNT(*), SUM(COALESCE(r.y, 0)), SUM(COALESCE(r.y, 0) * COALESCE(r.y, 0)), "
            f"SUM(COALESCE(r.y, 0) / a.propensity), SUM(COALESCE(r.y, 0) * COALESCE(r.y, 0) / "
            f"(a.propensity * a.propensity)), SUM(1.0 / (a.propensity * a.propensity)) FROM {assignments} a LEFT JOIN ({per_reader}) r "
            f"ON r.arm_id = a.arm_id AND r.unit_hash = a.unit_hash "
            f"WHERE a.experiment_id = %s AND a.propensity > 0 AND NOT a.holdout GROUP BY a.arm_id",
            [*params, experiment_id, experiment_id, experiment_id])
        rows = cursor.fetchall()
        cursor.execute(
            f"SELECT COUNT(*) FROM ({per_reader}) r WHERE NOT EXISTS (SELECT 1 FROM {assignments} a "
            f"WHERE a.experiment_id = %s AND a.unit_hash = r.unit_hash AND a.arm_id = r.arm_id "
            f"AND a.propensity > 0)", [*params, experiment_id, experiment_id, experiment_id])
        unweighted = cursor.fetchone()[0]
    return ReaderStats({arm: ArmReaders(str(arm), int(n), float(s or 0), float(q or 0), float(w or 0),
                                        float(w2 or 0), float(v or 0))
                        for arm, n, s, q, w, w2, v in rows}, int(unweighted))
