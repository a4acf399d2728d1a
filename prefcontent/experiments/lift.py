"""The lift report: what a brand's served copy gains over its persistent holdout, from its own traffic.

Per channel, over every experiment with events in the window: the click (or conversion) rate per
treated reader against the rate per held-out reader (holdout.py), pooled over experiments, with an
always-valid interval clustered by experiment (lift_stats.py), for the whole window and for each
week (Monday to Monday, UTC), so that decay shows; who counts as a reader, and when, is
lift_readers.py's.

Alerts per channel: the interval reaching below zero for `lift_alert_weeks` weeks in a row, or the
weekly lift falling more than `lift_alert_drop` below its established peak; each sets the
`prefcontent_lift_alert` gauge. The sample-ratio check compares the held-out share of the window's
assignments with the brand's holdout share.

An experiment whose events retention dropped is read from the readers frozen before the drop (lift_frozen.py): its weeks
that meet the window, and its whole life for the window's total.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.db.models import Count, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from prefcontent.brands.models import Brand
from prefcontent.brands.selectors import brand_get
from prefcontent.brands.settings import brand_settings
from prefcontent.core import metrics
from prefcontent.core.errors import InvalidInput
from prefcontent.experiments.holdout import ArmKind, holdout_arm, holdout_share_p, variant_kind
from prefcontent.experiments.lift_frozen import frozen_ids, frozen_totals
from prefcontent.experiments.lift_readers import LiftWindow, reader_totals
from prefcontent.experiments.lift_stats import (
    ALERT_KINDS,
    MIXING_SD,
    Cluster,
    GroupTotals,
    LiftEstimate,
    lift_alerts,
    lift_estimate,
)
from prefcontent.experiments.models import METRICS, Arm, Assignment, Experiment
from prefcontent.tenancy.principal import Principal

DEFAULT_WEEKS = 12
MAX_WEEKS = 104
UNSPECIFIED = "unspecified"  # experiments with no campaign (or brief campaign) to name a channel
INTERVAL = ("normal-mixture confidence sequence (mSPRT) on log(1 + lift), variance clustered by experiment "
            "with the within-experiment variance as its floor")


def lift_window(*, weeks=None, since=None, until=None, now: datetime | None = None) -> LiftWindow:
    """The window from query parameters (strings or None): `until` (default now) back `weeks` weeks
    (default 12), or from `since`. InvalidInput on anything else."""
    now = now or timezone.now()

    def moment(raw, name):
        if raw is None:
            return None
        try:
            parsed = datetime.fromisoformat(str(raw)) if len(str(raw)) <= 40 else None
        except ValueError:
            parsed = None
        if parsed is None:
            raise InvalidInput(f"{name} must be an ISO 8601 date or time.", code="invalid_window",
                               details={"fields": {name: ["must be an ISO 8601 date or time."]}})
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    end = moment(until, "until") or now
    start = moment(since, "since")
    if weeks is not None:
        if start is not None:
            raise InvalidInput("Give weeks or since, not both.", code="invalid_window")
        text = str(weeks)
        if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_WEEKS:
            raise InvalidInput(f"weeks must be an integer from 1 to {MAX_WEEKS}.", code="invalid_window",
                               details={"fields": {"weeks": [f"must be an integer from 1 to {MAX_WEEKS}."]}})
        start = end - timedelta(weeks=int(text))
    start = start or end - timedelta(weeks=DEFAULT_WEEKS)
    if start >= end:
        raise InvalidInput("since must be before until.", code="invalid_window")
    if end - start > timedelta(weeks=MAX_WEEKS):
        raise InvalidInput(f"A window is at most {MAX_WEEKS} weeks.", code="invalid_window")
    return LiftWindow(start, end)


def _clusters(totals: dict[tuple[int, str, bool], GroupTotals], experiment_ids: Iterable[int], week: str) -> list[Cluster]:
    empty = GroupTotals(0, 0.0, 0.0)
    return [Cluster(f"{e}:{week}", totals.get((e, week, False), empty), totals.get((e, week, True), empty))
            for e in experiment_ids if (e, week, False) in totals or (e, week, True) in totals]


def _experiments(brand_id: int, window: LiftWindow, only: list[int] | None) -> tuple[dict[str, list[int]], int]:
    """channel -> ids of the brand's experiments that hold readers out and ran in the window; and how many
    ran in it without a holdout arm (adapter copy only, made before the rule, or all human copy)."""
    qs = Experiment.objects.filter(brand_id=brand_id, started_at__lt=window.until).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gte=window.since))
    if only is not None:
        qs = qs.filter(pk__in=only)
    channels = dict(qs.annotate(channel=Coalesce("campaign__channel", "brief__campaign__channel", Value(UNSPECIFIED)))
                    .values_list("id", "channel"))
    arms: dict[int, list[ArmKind]] = defaultdict(list)
    for arm_id, exp_id, is_control, source, adapter in Arm.objects.filter(experiment_id__in=list(channels)).values_list(
            "id", "experiment_id", "is_control", "variant__source", "variant__adapter_version_id"):
        arms[exp_id].append(ArmKind(arm_id, is_control, variant_kind(source=source, adapter_version_id=adapter)))
    by_channel: dict[str, list[int]] = defaultdict(list)
    without = 0
    for exp_id, channel in sorted(channels.items()):
        if holdout_arm(arms[exp_id]) is None:
            without += 1
        else:
            by_channel[channel].append(exp_id)
    return dict(by_channel), without


def _estimate_dict(estimate: LiftEstimate) -> dict:
    return {k: (round(v, 6) if isinstance(v, float) and math.isfinite(v) else v) for k, v in estimate.to_dict().items()}


def _holdout_check(experiment_ids: list[int], window: LiftWindow, share: float, srm_p: float) -> dict:
    counts = Assignment.objects.filter(experiment_id__in=experiment_ids, created_at__gte=window.since,
                                       created_at__lt=window.until).aggregate(
        total=Count("id"), held=Count("id", filter=Q(holdout=True)))
    total, held = counts["total"], counts["held"]
    p = holdout_share_p(held, total, share)
    return {"assigned": total, "held_out": held, "expected_share": share,
            "observed_share": round(held / total, 6) if total else None,
            "srm_p_value": p, "srm_flag": p is not None and p < srm_p}


def lift_report_for_brand(*, brand: Brand, window: LiftWindow, metric: str = "click",
                          experiment_ids: list[int] | None = None) -> dict:
    """The report of an already authorised brand (the export, the simulation); `experiment_ids` narrows it
    to those experiments."""
    if metric not in METRICS:
        raise InvalidInput(f"metric must be one of {', '.join(METRICS)}.", code="invalid_metric")
    cfg = brand_settings(brand)
    tau = MIXING_SD
    by_channel, without = _experiments(brand.pk, window, experiment_ids)
    everyone = sorted(e for ids in by_channel.values() for e in ids)
    frozen = frozen_ids(everyone)  # retention dropped their events: their readers were kept (lift_frozen.py)
    live = [e for e in everyone if e not in frozen]
    overall = {**reader_totals(brand.pk, window, metric, live, by_week=False),
               **frozen_totals(sorted(frozen), window, metric, by_week=False)}
    weekly = {**reader_totals(brand.pk, window, metric, live, by_week=True),
              **frozen_totals(sorted(frozen), window, metric, by_week=True)}
    weeks = sorted({wk for _, wk, _ in weekly})
    channels, alerts = [], []
    for channel, ids in sorted(by_channel.items()):
        week_estimates = [(wk, lift_estimate(_clusters(weekly, ids, wk), alpha=cfg.alpha, tau=tau)) for wk in weeks]
        week_estimates = [(wk, est) for wk, est in week_estimates if est.treated_readers or est.holdout_readers]
        found = lift_alerts([est for _, est in week_estimates], below_zero_weeks=int(cfg.lift_alert_weeks),
                            max_drop=cfg.lift_alert_drop)
        for kind in ALERT_KINDS:
            metrics.LIFT_ALERT.labels(brand=str(brand.pk), channel=channel, kind=kind).set(
                int(any(a.kind == kind for a in found)))
        alerts += [{"channel": channel, "kind": a.kind, "message": a.message} for a in found]
        channels.append({
            "channel": channel, "experiments": len(ids),
            "overall": _estimate_dict(lift_estimate(_clusters(overall, ids, "all"), alpha=cfg.alpha, tau=tau)),
            "weeks": [{"week": wk, **_estimate_dict(est)} for wk, est in week_estimates],
            "alerts": [a.kind for a in found],
        })
    return {
        "brand": brand.pk, "metric": metric, "since": window.since.isoformat(), "until": window.until.isoformat(),
        "holdout_share": cfg.holdout_share, "alpha": cfg.alpha, "interval": INTERVAL,
        "channels": channels, "alerts": alerts,
        "holdout_check": _holdout_check(everyone, window, cfg.holdout_share, cfg.srm_p),
        "experiments_without_holdout_arm": without,
    }


def brand_lift_report(*, principal: Principal, brand_id, weeks=None, since=None, until=None,
                      metric=None) -> dict:
    """The brand's lift report if the principal may see the brand (else 404); bad parameters are 400."""
    brand = brand_get(principal=principal, brand_id=brand_id)
    window = lift_window(weeks=weeks, since=since, until=until)
    return lift_report_for_brand(brand=brand, window=window, metric=metric or "click")
