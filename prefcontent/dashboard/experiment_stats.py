"""What the experiment pages show: per-arm rows from the stats evidence, rates over time, posteriors.

The evidence dicts come from the experiments app (`experiment_evaluate` or a decision's
stored evidence); this module only arranges them for templates and charts.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.utils import timezone
from scipy import stats as sps

from prefcontent.dashboard.charts import Series, line_chart
from prefcontent.experiments.models import Arm, Experiment, success_counter
from prefcontent.experiments.selectors import arm_hours

POSTERIOR_POINTS = 120


@dataclass(frozen=True)
class ArmRow:
    """One arm as the stats table shows it."""

    arm: Arm  # the arm, with its variant
    counts: dict  # impressions, clicks, conversions, weight, assignments
    stats: dict  # the stats engine's ArmStats as a dict (rate, wilson_low/high, prob_best, ...)
    is_winner: bool  # the decision (or the current evaluation) names this arm


def arm_rows(arms: list[Arm], evidence: dict) -> list[ArmRow]:
    analysis = evidence.get("analysis", {})
    stats = {a["arm_id"]: a for a in analysis.get("arms", [])}
    counts = evidence.get("counts", {})
    winner = analysis.get("winner_id")
    return [ArmRow(arm=arm, counts=counts.get(str(arm.pk), {}), stats=stats.get(str(arm.pk), {}),
                   is_winner=winner == str(arm.pk)) for arm in arms]


def _label(row: ArmRow) -> str:
    return f"{'control' if row.arm.is_control else 'arm'} {row.arm.pk}: {row.arm.variant.text}"


def posterior_chart(rows: list[ArmRow]) -> str:
    """Beta(1 + successes, 1 + failures) density of each arm's rate (the engine's uniform prior)."""
    params = []
    for row in rows:
        trials, successes = row.stats.get("trials", 0), row.stats.get("successes", 0)
        params.append((1 + successes, 1 + trials - successes))
    if not params:
        return line_chart([], title="Posterior of each arm's rate")
    highs = [sps.beta.ppf(0.9995, a, b) for a, b in params]
    lows = [sps.beta.ppf(0.0005, a, b) for a, b in params]
    xs = np.linspace(max(0.0, min(lows)), min(1.0, max(highs)), POSTERIOR_POINTS)
    series = [Series(_label(row), list(zip(xs.tolist(), sps.beta.pdf(xs, a, b).tolist())))
              for row, (a, b) in zip(rows, params)]
    return line_chart(series, title="Posterior of each arm's rate", y_min=0, x_format=lambda v: f"{v:.1%}")


def rate_over_time_chart(experiment: Experiment, rows: list[ArmRow]) -> str:
    """Each arm's cumulative rate of the primary metric, per hour (per day past three days) of the
    experiment, from the hourly roll-ups ingestion keeps: the page is polled, the events are not read."""
    success_field = success_counter(experiment.primary_metric)
    start = experiment.started_at or experiment.created_at
    end = experiment.ended_at or timezone.now()
    by_day = end - start > timedelta(days=3)
    fmt = "%m-%d" if by_day else "%d %H:00"
    per_arm: dict[int, dict[datetime, list[int]]] = {}
    for item in arm_hours(experiment_id=experiment.pk):
        bucket = item.hour.replace(hour=0) if by_day else item.hour
        slot = per_arm.setdefault(item.arm_id, {}).setdefault(bucket, [0, 0])
        slot[0] += item.impressions
        slot[1] += getattr(item, success_field)
    series = []
    for row in rows:
        impressions = successes = 0
        points = []
        for bucket, (shown, hit) in sorted(per_arm.get(row.arm.pk, {}).items()):
            impressions, successes = impressions + shown, successes + hit
            if impressions:
                points.append((bucket.timestamp(), min(successes, impressions) / impressions))
        series.append(Series(_label(row), points))
    return line_chart(series, title=f"Cumulative {experiment.primary_metric} rate per arm", y_min=0,
                      x_format=lambda v: datetime.fromtimestamp(v, tz=timezone.get_current_timezone()).strftime(fmt),
                      y_format=lambda v: f"{v:.1%}")
