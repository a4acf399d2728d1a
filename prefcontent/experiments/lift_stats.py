"""The lift estimate of treated readers over held-out readers (plain module, no Django).

Each cluster is one experiment (or one experiment in one week): its treated and held-out readers'
counts, outcome sums and sums of squares (the outcome is a reader's clicks or conversions). The
lift is the ratio of pooled rates minus one, r_T / r_H - 1, estimated on the log scale:

    theta = log(S_T / N_T) - log(S_H / N_H)

Its variance is the larger of two. The cluster-robust one (linearisation over experiments,
u_c = (S_Tc - r_T N_Tc) / S_T - (S_Hc - r_H N_Hc) / S_H, V = K / (K - 1) sum u_c^2) respects that
readers of one experiment share its copy and its moment; with few experiments it is itself noisy
and can come out below what reader sampling alone implies, so the within-experiment (stratified)
variance sum_c (Q_c - S_c^2 / N_c) / S^2 per group is its floor.

Always valid when watched: the report is read every week as data accrue, so the interval is the
normal-mixture confidence sequence of the mSPRT (Robbins 1970; Johari, Pekelis and Walsh, "Always
valid inference", 2017), applied to the asymptotically normal theta with its variance V:

    theta +- sqrt(V (V + tau^2) / tau^2 * log((V + tau^2) / (V alpha^2)))

The half-width over sqrt(V) is about 3.1 from V = tau^2 / 100 to V = tau^2 / 3 and grows beyond
(5.6 at V = 4 tau^2), so tau should sit above the standard errors a report sees: MIXING_SD = 0.25
on log(1 + lift), for weekly standard errors of 0.03 to 0.15 (a few to a few dozen experiments a
week at a 5 % holdout). Zero-centred, unlike the decision's two-sided mixture (sequential.py),
because this is an interval to read, not a test tuned to conclude on one effect.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

MIXING_SD = 0.25  # tau: the mixture's scale on log(1 + lift) (see above)


@dataclass(frozen=True)
class GroupTotals:
    """Readers of one group (treated or held out) in one cluster."""

    readers: int  # readers with at least one event
    total: float  # sum of their outcomes (clicks or conversions)
    squares: float  # sum of squared outcomes


@dataclass(frozen=True)
class Cluster:
    key: str  # experiment id (and week)
    treated: GroupTotals
    holdout: GroupTotals


@dataclass(frozen=True)
class LiftEstimate:
    lift: float | None  # r_T / r_H - 1; None without held-out successes or treated readers
    low: float | None  # the always-valid interval on the lift
    high: float | None
    treated_rate: float | None  # outcomes per treated reader
    holdout_rate: float | None  # outcomes per held-out reader
    treated_readers: int
    holdout_readers: int
    experiments: int  # clusters with readers in both groups
    std_error: float | None  # of log(1 + lift)
    variance_from: str | None  # "clusters" or "readers": which variance was the larger

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def confidence_sequence_radius(variance: float, *, alpha: float, tau: float) -> float:
    """The half-width of the normal-mixture confidence sequence for an estimate of this variance."""
    if variance <= 0:
        return 0.0
    tau2 = tau * tau
    return math.sqrt(variance * (variance + tau2) / tau2 * math.log((variance + tau2) / (variance * alpha * alpha)))


def _within(groups: Sequence[GroupTotals]) -> float:
    return sum(max(g.squares - g.total * g.total / g.readers, 0.0) for g in groups if g.readers)


def lift_estimate(clusters: Sequence[Cluster], *, alpha: float, tau: float) -> LiftEstimate:
    """The pooled lift with its always-valid interval; clusters lacking either group are left out (an
    experiment with no held-out reader says nothing about lift)."""
    usable = [c for c in clusters if c.treated.readers > 0 and c.holdout.readers > 0]
    n_t = sum(c.treated.readers for c in usable)
    n_h = sum(c.holdout.readers for c in usable)
    s_t = sum(c.treated.total for c in usable)
    s_h = sum(c.holdout.total for c in usable)
    r_t = s_t / n_t if n_t else None
    r_h = s_h / n_h if n_h else None
    empty = LiftEstimate(None, None, None, r_t, r_h, n_t, n_h, len(usable), None, None)
    if not usable or s_t <= 0 or s_h <= 0:
        return empty
    theta = math.log(r_t / r_h)
    strat = _within([c.treated for c in usable]) / s_t ** 2 + _within([c.holdout for c in usable]) / s_h ** 2
    k = len(usable)
    clustered = 0.0
    if k >= 2:
        u = [(c.treated.total - r_t * c.treated.readers) / s_t - (c.holdout.total - r_h * c.holdout.readers) / s_h
             for c in usable]
        clustered = k / (k - 1) * sum(x * x for x in u)
    variance = max(clustered, strat)
    radius = confidence_sequence_radius(variance, alpha=alpha, tau=tau)
    return LiftEstimate(
        lift=math.exp(theta) - 1, low=math.exp(theta - radius) - 1, high=math.exp(theta + radius) - 1,
        treated_rate=r_t, holdout_rate=r_h, treated_readers=n_t, holdout_readers=n_h, experiments=k,
        std_error=math.sqrt(variance), variance_from="clusters" if clustered > strat else "readers",
    )


BELOW_ZERO, DECAY = "below_zero", "decay"
ALERT_KINDS = (BELOW_ZERO, DECAY)


@dataclass(frozen=True)
class LiftAlert:
    kind: str  # one of ALERT_KINDS
    message: str


def lift_alerts(weeks: Sequence[LiftEstimate], *, below_zero_weeks: int, max_drop: float) -> list[LiftAlert]:
    """Alerts on a channel's weekly estimates, oldest first (weeks without an estimate are skipped).

    below_zero: the last `below_zero_weeks` estimated weeks all have an interval reaching below zero.
    decay: the latest week's lift is below (1 - max_drop) of the established peak, the highest
    weekly lower bound (a lift the data showed beyond doubt, not the luckiest point estimate).
    """
    known = [w for w in weeks if w.lift is not None]
    alerts = []
    recent = known[-below_zero_weeks:]
    if below_zero_weeks > 0 and len(recent) == below_zero_weeks and all(w.low < 0 for w in recent):
        alerts.append(LiftAlert(BELOW_ZERO, f"Lift not shown above zero for {below_zero_weeks} week"
                                              f"{'s' if below_zero_weeks != 1 else ''} in a row."))
    if known:
        peak = max(w.low for w in known)
        latest = known[-1].lift
        if peak > 0 and latest < peak * (1 - max_drop):
            alerts.append(LiftAlert(DECAY, f"Lift fell to {latest:+.1%}, more than {max_drop:.0%} below its "
                                             f"established peak of {peak:+.1%}."))
    return alerts
