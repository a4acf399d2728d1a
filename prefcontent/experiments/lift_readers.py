"""The lift report's one aggregate over raw events: readers per experiment, week and side, with their outcome.

A reader counts in a week when they have an event of the experiment in it; their outcome is their
count of the metric's events there. Readers are known through their stored assignment: events of a
unit never assigned (or erased) are left out.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from prefcontent.experiments.lift_stats import GroupTotals
from prefcontent.experiments.models import Assignment, Event


@dataclass(frozen=True)
class LiftWindow:
    since: datetime  # inclusive
    until: datetime  # exclusive


def _week_sql() -> str:
    if connection.vendor == "postgresql":
        return "to_char(date_trunc('week', e.occurred_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD')"
    return "date(e.occurred_at, 'weekday 0', '-6 days')"  # SQLite stores UTC text: back to the Monday


def reader_totals(brand_id: int, window: LiftWindow, metric: str, experiment_ids: list[int], *,
                   by_week: bool) -> dict[tuple[int, str, bool], GroupTotals]:
    """(experiment id, week or "all", held out) -> readers, sum and sum of squares of their outcome."""
    if not experiment_ids:
        return {}
    events, assignments = Event._meta.db_table, Assignment._meta.db_table
    week = _week_sql() if by_week else "'all'"
    group_week = f"{week}, " if by_week else ""  # PostgreSQL refuses a constant in GROUP BY
    adapt = connection.ops.adapt_datetimefield_value
    marks = ", ".join(["%s"] * len(experiment_ids))
    sql = (f"SELECT r.experiment_id, r.week, r.holdout, COUNT(*), SUM(r.y), SUM(r.y * r.y) FROM ("
           f"SELECT e.experiment_id AS experiment_id, {week} AS week, a.holdout AS holdout, e.unit_hash, "
           f"SUM(CASE WHEN e.type = %s THEN 1 ELSE 0 END) AS y FROM {events} e JOIN {assignments} a "
           f"ON a.experiment_id = e.experiment_id AND a.unit_hash = e.unit_hash "
           f"WHERE e.brand_id = %s AND e.occurred_at >= %s AND e.occurred_at < %s AND e.experiment_id IN ({marks}) "
           f"GROUP BY e.experiment_id, {group_week}a.holdout, e.unit_hash) r GROUP BY r.experiment_id, r.week, r.holdout")
    with connection.cursor() as cursor:
        cursor.execute(sql, [metric, brand_id, adapt(window.since), adapt(window.until), *experiment_ids])
        rows = cursor.fetchall()
    return {(exp, str(wk)[:10], bool(held)): GroupTotals(int(n), float(s or 0), float(q or 0))
            for exp, wk, held, n, s, q in rows}
