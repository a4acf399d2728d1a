"""Readers kept past retention: an experiment's lift clusters, frozen before its events are dropped.

Retention (retention.py) freezes every experiment whose events it is about to drop, before any day
partition or row goes: per metric, week and side, the readers and the sum and sum of squares of their
outcome, as the lift report's raw aggregate (lift_readers.py) counts them over the experiment's whole
life. The report reads these rows for frozen experiments and raw events for the rest, so a window
longer than the brand's retention still holds every experiment that ran in it.

A frozen experiment keeps its rows: once events are dropped they cannot give them again.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.db import transaction

from prefcontent.experiments.lift_readers import LiftWindow, reader_totals
from prefcontent.experiments.lift_stats import GroupTotals
from prefcontent.experiments.models import METRICS, Experiment, LiftCluster

ALL_TIME = LiftWindow(datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC))
CHUNK = 200  # experiments per aggregate


def lift_clusters_freeze(experiment_ids: Iterable[int]) -> int:
    """Freeze the lift clusters of these experiments, except those frozen before; how many were frozen."""
    wanted = set(experiment_ids)
    todo = sorted(wanted - frozen_ids(wanted))
    by_brand: dict[int, list[int]] = defaultdict(list)
    for exp_id, brand_id in Experiment.objects.filter(pk__in=todo).values_list("id", "brand_id"):
        by_brand[brand_id].append(exp_id)
    for brand_id, ids in sorted(by_brand.items()):
        ids.sort()
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            rows = [LiftCluster(experiment_id=exp, metric=metric, week=week, holdout=held, readers=t.readers,
                                total=t.total, total_sq=t.squares)
                    for metric in METRICS for by_week in (False, True)
                    for (exp, week, held), t in reader_totals(brand_id, ALL_TIME, metric, chunk, by_week=by_week).items()]
            with transaction.atomic():
                LiftCluster.objects.bulk_create(rows, batch_size=1000)
    return len(todo)


def frozen_ids(experiment_ids: Iterable[int]) -> set[int]:
    """Those of these experiments whose lift clusters are frozen."""
    ids = list(experiment_ids)
    if not ids:
        return set()
    return set(LiftCluster.objects.filter(experiment_id__in=ids).values_list("experiment_id", flat=True).distinct())


def _monday(moment: datetime) -> datetime:
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def frozen_totals(experiment_ids: list[int], window: LiftWindow, metric: str, *, by_week: bool
                  ) -> dict[tuple[int, str, bool], GroupTotals]:
    """The frozen clusters keyed as the raw aggregate's: by week, the weeks that meet the window; the
    window's total, the experiment's whole life (its readers cannot be cut at the window's edges again)."""
    if not experiment_ids:
        return {}
    rows = LiftCluster.objects.filter(experiment_id__in=experiment_ids, metric=metric)
    if by_week:
        # Weeks are "YYYY-MM-DD" Mondays: those starting before `until` and ending after `since`.
        first = _monday(window.since).date().isoformat()
        last = (window.until.astimezone(UTC) - timedelta(microseconds=1)).date().isoformat()
        rows = rows.exclude(week="all").filter(week__gte=first, week__lte=last)
    else:
        rows = rows.filter(week="all")
    return {(exp, week, held): GroupTotals(int(n), float(total), float(sq))
            for exp, week, held, n, total, sq in rows.values_list("experiment_id", "week", "holdout", "readers",
                                                                  "total", "total_sq")}
