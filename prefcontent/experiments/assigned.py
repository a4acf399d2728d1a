"""Assignment totals per arm without scanning an experiment's assignments.

A decision needs, per arm, its stored assignments outside the holdout, those with a propensity, the
sum of 1/p^2 over them, and the held-out ones. Counting them from the Assignment rows at every look
reads every reader the experiment ever had. Instead the roll adds the rows stored since its watermark
(an id range: one index range scan over the new rows of every experiment) to the arms' `assigned*`
counters and moves the watermark; a total is then the counters plus the rows after the watermark.

The roll takes only rows older than ROLL_LAG_S: an assignment is one autocommit statement, so a row
with a lower id that is not yet visible (its transaction still committing) cannot be stepped over.
The counters are aggregates and stay when a visitor is erased, as the event counters do.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count, F, FloatField, Max, Min, Q, Sum
from django.db.models.functions import Cast
from django.utils import timezone

from prefcontent.experiments.models import Arm, Assignment, AssignmentRoll

ROLL_LAG_S = 10


@dataclass(frozen=True)
class AssignedTotals:
    """An arm's stored assignments outside the holdout: all, those with a propensity p > 0, and the sum of
    1/p^2 over them; and apart, the held-out readers assigned to it."""

    assigned: int = 0
    weighted: int = 0
    inverse_square: float = 0.0
    held_out: int = 0

    def __add__(self, other: AssignedTotals) -> AssignedTotals:
        return AssignedTotals(self.assigned + other.assigned, self.weighted + other.weighted,
                              self.inverse_square + other.inverse_square, self.held_out + other.held_out)


def _aggregate(rows) -> list[dict]:
    tested = Q(holdout=False)
    weighted = tested & Q(propensity__gt=0)
    return list(rows.values("experiment_id", "arm_id").annotate(
        n=Count("id", filter=tested), w=Count("id", filter=weighted),
        v=Sum(1.0 / (Cast(F("propensity"), FloatField()) * F("propensity")), filter=weighted),
        h=Count("id", filter=Q(holdout=True))))


def _watermark() -> int:
    return AssignmentRoll.objects.order_by("pk").values_list("last_id", flat=True).first() or 0  # the roll's row


def assigned_totals(experiment_ids: list[int]) -> dict[int, dict[int, AssignedTotals]]:
    """experiment id -> arm id -> AssignedTotals: the arms' rolled counters plus the assignments after the
    watermark (two queries, neither reading the experiments' older assignments)."""
    if not experiment_ids:
        return {}
    out: dict[int, dict[int, AssignedTotals]] = defaultdict(dict)
    last = _watermark()
    for arm_id, exp_id, n, w, v, h in Arm.objects.filter(experiment_id__in=experiment_ids).values_list(
            "id", "experiment_id", "assigned", "assigned_weighted", "assigned_inverse_square", "assigned_held"):
        if n or w or h:
            out[exp_id][arm_id] = AssignedTotals(n, w, float(v), h)
    for r in _aggregate(Assignment.objects.filter(id__gt=last, experiment_id__in=experiment_ids)):
        tail = AssignedTotals(r["n"], r["w"], float(r["v"] or 0), r["h"])
        out[r["experiment_id"]][r["arm_id"]] = out[r["experiment_id"]].get(r["arm_id"], AssignedTotals()) + tail
    return dict(out)


def assignments_roll(*, now: datetime | None = None) -> int:
    """Add the assignments stored since the watermark (and more than ROLL_LAG_S ago) to their arms'
    counters and move the watermark past them; the rows rolled. A roll already running elsewhere wins:
    this one rolls nothing."""
    cutoff = (now or timezone.now()) - timedelta(seconds=ROLL_LAG_S)
    with transaction.atomic():
        mark = AssignmentRoll.objects.select_for_update(skip_locked=True).order_by("pk").first()
        if mark is None:
            if AssignmentRoll.objects.exists():
                return 0  # locked by a concurrent roll
            mark = AssignmentRoll.objects.create(last_id=0)
        newer = Assignment.objects.filter(id__gt=mark.last_id)
        first_recent = newer.filter(created_at__gte=cutoff).aggregate(m=Min("id"))["m"]
        ready = newer.filter(id__lt=first_recent) if first_recent is not None else newer
        upto = ready.aggregate(m=Max("id"))["m"]
        if upto is None:
            return 0
        rows = sorted(_aggregate(Assignment.objects.filter(id__gt=mark.last_id, id__lte=upto)),
                      key=lambda r: r["arm_id"])
        _arms_add(rows)
        rolled = sum(r["n"] + r["h"] for r in rows)
        mark.last_id, mark.rolled_at = upto, timezone.now()
        mark.save(update_fields=["last_id", "rolled_at"])
    return rolled


def _arms_add(rows: list[dict]) -> None:
    """Add the aggregates to their arms, locking the arms in id order first, as ingestion does (no
    deadlock with a batch that increments the same arms), then in one UPDATE on PostgreSQL (the locks
    are held for milliseconds, not one statement per arm)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        for r in rows:
            Arm.objects.filter(pk=r["arm_id"]).update(
                assigned=F("assigned") + r["n"], assigned_weighted=F("assigned_weighted") + r["w"],
                assigned_inverse_square=F("assigned_inverse_square") + float(r["v"] or 0),
                assigned_held=F("assigned_held") + r["h"])
        return
    ids = [r["arm_id"] for r in rows]
    table = Arm._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table} WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE", [ids])
        cursor.execute(
            f"UPDATE {table} a SET assigned = a.assigned + v.n, assigned_weighted = a.assigned_weighted + v.w, "
            f"assigned_inverse_square = a.assigned_inverse_square + v.s, assigned_held = a.assigned_held + v.h "
            f"FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::float8[], %s::bigint[]) AS v(id, n, w, s, h) "
            f"WHERE a.id = v.id",
            [ids, [r["n"] for r in rows], [r["w"] for r in rows], [float(r["v"] or 0) for r in rows],
             [r["h"] for r in rows]])


def assigned_rebuild(cursor) -> None:
    """Recompute every arm's `assigned*` counters from the Assignment rows and put the watermark at the
    highest id (the migration's backfill and the repair command). Plain SQL on the tables as migration
    0007 left them. Run it in a transaction: it holds the watermark's row, so no roll runs beside it."""
    cursor.execute("SELECT id FROM experiments_assignmentroll ORDER BY id" +
                   (" FOR UPDATE" if connection.vendor == "postgresql" else ""))
    marks = [r[0] for r in cursor.fetchall()]
    cursor.execute("SELECT COALESCE(MAX(id), 0) FROM experiments_assignment")
    top = cursor.fetchone()[0]
    of_arm = "FROM experiments_assignment a WHERE a.arm_id = experiments_arm.id AND a.id <= %s"
    cursor.execute(
        f"UPDATE experiments_arm SET assigned = (SELECT COUNT(*) {of_arm} AND NOT a.holdout), "
        f"assigned_weighted = (SELECT COUNT(*) {of_arm} AND NOT a.holdout AND a.propensity > 0), "
        f"assigned_inverse_square = (SELECT COALESCE(SUM(1.0 / (a.propensity * a.propensity)), 0) {of_arm} "
        f"AND NOT a.holdout AND a.propensity > 0), "
        f"assigned_held = (SELECT COUNT(*) {of_arm} AND a.holdout)", [top, top, top, top])
    stamp = connection.ops.adapt_datetimefield_value(timezone.now())
    if marks:
        cursor.execute("UPDATE experiments_assignmentroll SET last_id = %s, rolled_at = %s WHERE id = %s",
                       [top, stamp, marks[0]])
    else:
        cursor.execute("INSERT INTO experiments_assignmentroll (last_id, rolled_at) VALUES (%s, %s)", [top, stamp])
