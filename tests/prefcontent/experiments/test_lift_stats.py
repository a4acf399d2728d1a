"""The lift estimate's maths on data with a known answer."""
from __future__ import annotations

import math

import numpy as np
import pytest

from prefcontent.experiments.lift_stats import (
    MIXING_SD,
    Cluster,
    GroupTotals,
    LiftEstimate,
    confidence_sequence_radius,
    lift_alerts,
    lift_estimate,
)

TAU = MIXING_SD


def _group(readers: int, ones: int) -> GroupTotals:
    """`readers` readers of whom `ones` clicked once (sum of squares equals the sum)."""
    return GroupTotals(readers, float(ones), float(ones))


def test_pooled_lift_is_the_ratio_of_rates():
    clusters = [Cluster("1", _group(1000, 120), _group(100, 10)), Cluster("2", _group(2000, 240), _group(200, 20)),
                Cluster("3", _group(500, 60), _group(50, 5))]
    est = lift_estimate(clusters, alpha=0.05, tau=TAU)
    assert est.lift == pytest.approx(0.2) and est.treated_rate == pytest.approx(0.12)
    assert est.holdout_rate == pytest.approx(0.1) and est.experiments == 3
    assert est.low < 0.2 < est.high and est.treated_readers == 3500 and est.holdout_readers == 350
    # Identical rates in every experiment: nothing between experiments, the reader variance rules.
    assert est.variance_from == "readers"


def test_clusters_without_holdout_readers_or_successes_say_nothing():
    assert lift_estimate([Cluster("1", _group(100, 5), _group(0, 0))], alpha=0.05, tau=TAU).lift is None
    assert lift_estimate([Cluster("1", _group(100, 5), _group(10, 0))], alpha=0.05, tau=TAU).lift is None
    one = lift_estimate([Cluster("1", _group(1000, 50), _group(1000, 40))], alpha=0.05, tau=TAU)
    assert one.lift == pytest.approx(0.25) and one.variance_from == "readers"  # one experiment: no clusters


def test_heterogeneous_experiments_widen_the_interval_through_the_cluster_variance():
    same = [Cluster(str(i), _group(1000, 100), _group(1000, 100)) for i in range(6)]
    mixed = [Cluster(str(i), _group(1000, 100 + (60 if i % 2 else -60)), _group(1000, 100)) for i in range(6)]
    narrow, wide = (lift_estimate(c, alpha=0.05, tau=TAU) for c in (same, mixed))
    assert narrow.lift == pytest.approx(0.0) and wide.lift == pytest.approx(0.0)
    assert wide.variance_from == "clusters" and wide.std_error > 1.5 * narrow.std_error
    assert wide.high - wide.low > narrow.high - narrow.low


def test_the_confidence_sequence_is_wider_than_a_fixed_look_and_grows_with_variance():
    for variance in (1e-4, 1e-3, 1e-2):
        radius = confidence_sequence_radius(variance, alpha=0.05, tau=TAU)
        assert radius > 1.96 * math.sqrt(variance)
    radii = [confidence_sequence_radius(v, alpha=0.05, tau=TAU) for v in (1e-4, 1e-3, 1e-2)]
    assert radii == sorted(radii) and confidence_sequence_radius(0.0, alpha=0.05, tau=TAU) == 0.0


def _simulated(rng, *, lift: float, experiments: int, readers: int, share: float) -> list[Cluster]:
    clusters = []
    for e in range(experiments):
        base = rng.uniform(0.02, 0.05)
        # Each experiment's own lift varies around `lift`; the pooled estimand is the readers' true ratio.
        treated_p = base * (1 + lift)
        n_h = int(rng.binomial(readers, share))
        n_t = readers - n_h
        t = rng.poisson(treated_p * 6, n_t)
        h = rng.poisson(base * 6, n_h)
        clusters.append(Cluster(str(e), GroupTotals(n_t, float(t.sum()), float((t * t).sum())),
                                GroupTotals(n_h, float(h.sum()), float((h * h).sum()))))
    return clusters


def test_the_interval_covers_a_known_lift_in_repeated_samples():
    rng = np.random.default_rng(0)
    covered = 0
    runs = 200
    for _ in range(runs):
        est = lift_estimate(_simulated(rng, lift=0.15, experiments=10, readers=1200, share=0.05), alpha=0.05, tau=TAU)
        covered += est.low <= 0.15 <= est.high
    assert covered / runs >= 0.95, covered


def _week(lift: float, low: float, high: float) -> LiftEstimate:
    return LiftEstimate(lift, low, high, 0.1, 0.1, 100, 10, 2, 0.1, "readers")


def test_below_zero_alert_needs_the_set_number_of_weeks_in_a_row():
    weeks = [_week(0.2, 0.1, 0.3), _week(0.05, -0.05, 0.15), _week(0.02, -0.1, 0.14)]
    assert [a.kind for a in lift_alerts(weeks, below_zero_weeks=2, max_drop=0.9)] == ["below_zero"]
    assert lift_alerts(weeks, below_zero_weeks=3, max_drop=0.9) == []
    with_gap = [*weeks, LiftEstimate(None, None, None, None, None, 0, 0, 0, None, None)]
    assert [a.kind for a in lift_alerts(with_gap, below_zero_weeks=2, max_drop=0.9)] == ["below_zero"]


def test_decay_alert_compares_with_the_established_peak():
    weeks = [_week(0.3, 0.2, 0.4), _week(0.25, 0.15, 0.35), _week(0.08, 0.01, 0.15)]
    assert [a.kind for a in lift_alerts(weeks, below_zero_weeks=5, max_drop=0.5)] == ["decay"]  # 0.08 < 0.2 * 0.5
    assert lift_alerts(weeks, below_zero_weeks=5, max_drop=0.7) == []  # 0.08 > 0.2 * 0.3
    # A lucky point estimate with a wide interval is no established peak.
    noisy = [_week(0.5, -0.1, 1.1), _week(0.05, -0.05, 0.15)]
    assert lift_alerts(noisy, below_zero_weeks=5, max_drop=0.5) == []
