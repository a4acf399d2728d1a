import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from prefcontent.experiments.stats import (
    ArmCounts,
    analyze,
    holm_adjust,
    posterior_summary,
    posterior_summary_quadrature,
    srm_p_value,
    thompson_weights,
    two_proportion_ztest,
    wilson_interval,
)

# Fixed examples, so CI never meets a new case by chance.
FIXED = settings(max_examples=40, deadline=None, derandomize=True)


@st.composite
def counts(draw, max_trials: int = 5000) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    trials = draw(st.integers(1, max_trials))
    return draw(st.integers(0, trials)), trials


@FIXED
@given(counts(), st.sampled_from([0.01, 0.05, 0.1]))
def test_wilson_matches_statsmodels(sn: tuple[int, int], alpha: float) -> None:
    successes, trials = sn
    low, high = wilson_interval(successes, trials, alpha)
    ref_low, ref_high = proportion_confint(successes, trials, alpha=alpha, method="wilson")
    assert low == pytest.approx(max(0.0, ref_low), abs=1e-12)
    assert high == pytest.approx(min(1.0, ref_high), abs=1e-12)
    assert 0.0 <= low <= successes / trials <= high <= 1.0


@FIXED
@given(counts(), counts())
def test_ztest_matches_statsmodels(a: tuple[int, int], b: tuple[int, int]) -> None:
    (s1, n1), (s2, n2) = a, b
    pooled = (s1 + s2) / (n1 + n2)
    z, p = two_proportion_ztest(s1, n1, s2, n2)
    if pooled in (0.0, 1.0):
        assert (z, p) == (0.0, 1.0)
        return
    ref_z, ref_p = proportions_ztest([s1, s2], [n1, n2])
    assert z == pytest.approx(ref_z, rel=1e-9, abs=1e-12)
    assert p == pytest.approx(ref_p, rel=1e-9, abs=1e-15)


# multipletests is slow (tens of ms a call), so fewer examples here.
@settings(max_examples=20, deadline=None, derandomize=True)
@given(
    st.lists(
        st.sampled_from([0.0, 0.001, 0.01, 0.02, 0.04, 0.3, 0.9, 1.0]) | st.floats(0, 1),
        min_size=1,
        max_size=8,
    )
)
def test_holm_matches_statsmodels(p_values: list[float]) -> None:
    _, ref, _, _ = multipletests(p_values, method="holm")
    assert holm_adjust(p_values) == pytest.approx(list(ref), abs=1e-12)


@FIXED
@given(
    st.lists(st.tuples(st.integers(0, 20000), st.floats(0.05, 1.0)), min_size=2, max_size=6).filter(
        lambda rows: sum(n for n, _ in rows) > 0
    )
)
def test_srm_matches_scipy_chisquare(rows: list[tuple[int, float]]) -> None:
    arms = [ArmCounts(f"a{i}", n, 0, share) for i, (n, share) in enumerate(rows)]
    observed = np.array([n for n, _ in rows], dtype=float)
    shares = np.array([s for _, s in rows])
    ref = sps.chisquare(observed, observed.sum() * shares / shares.sum())
    assert srm_p_value(arms) == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)


def test_srm_uses_units_when_every_arm_has_them() -> None:
    by_views = [ArmCounts("a", 9600, 0, units=480), ArmCounts("b", 10400, 0, units=520)]
    assert srm_p_value(by_views) == pytest.approx(sps.chisquare([480, 520]).pvalue, rel=1e-9)
    assert srm_p_value([ArmCounts("a", 9600, 0, units=480), ArmCounts("b", 10400, 0)]) == pytest.approx(
        sps.chisquare([9600, 10400]).pvalue, rel=1e-6)  # one arm without units: trials for all
    with pytest.raises(ValueError):
        ArmCounts("a", 10, 0, units=-1)


def _exact_two_arm(a: ArmCounts, b: ArmCounts) -> tuple[float, float, float]:
    """P(a > b), E[max - a], E[max - b] by quadrature under Beta(1, 1) priors."""
    pa = sps.beta(1 + a.successes, 1 + a.trials - a.successes)
    pb = sps.beta(1 + b.successes, 1 + b.trials - b.successes)
    opts = {"limit": 200, "points": [pa.mean(), pb.mean()]}
    p_a_best = integrate.quad(lambda x: pa.pdf(x) * pb.cdf(x), 0, 1, **opts)[0]
    e_max = integrate.quad(lambda x: 1 - pa.cdf(x) * pb.cdf(x), 0, 1, **opts)[0]
    return p_a_best, e_max - pa.mean(), e_max - pb.mean()


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (ArmCounts("a", 1000, 100), ArmCounts("b", 1000, 120)),
        (ArmCounts("a", 50, 5), ArmCounts("b", 40, 2)),
        (ArmCounts("a", 0, 0), ArmCounts("b", 10, 9)),
        (ArmCounts("a", 20000, 1000), ArmCounts("b", 20000, 1050)),
    ],
)
def test_posterior_matches_exact_integration_for_two_arms(a: ArmCounts, b: ArmCounts) -> None:
    (p_a, p_b), (loss_a, loss_b) = posterior_summary([a, b])
    exact_p_a, exact_loss_a, exact_loss_b = _exact_two_arm(a, b)
    assert p_a == pytest.approx(exact_p_a, abs=0.006)
    assert p_a + p_b == pytest.approx(1.0)
    scale = max(exact_loss_a, exact_loss_b, 1e-4)
    assert loss_a == pytest.approx(exact_loss_a, abs=0.03 * scale)
    assert loss_b == pytest.approx(exact_loss_b, abs=0.03 * scale)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (ArmCounts("a", 1000, 100), ArmCounts("b", 1000, 120)),
        (ArmCounts("a", 50, 5), ArmCounts("b", 40, 2)),
        (ArmCounts("a", 0, 0), ArmCounts("b", 10, 9)),
        (ArmCounts("a", 10, 10), ArmCounts("b", 10, 0)),
        (ArmCounts("a", 20000, 1000), ArmCounts("b", 20000, 1050)),
    ],
)
def test_quadrature_posterior_matches_exact_integration_more_tightly(a: ArmCounts, b: ArmCounts) -> None:
    (p_a, p_b), (loss_a, loss_b) = posterior_summary_quadrature([a, b])
    exact_p_a, exact_loss_a, exact_loss_b = _exact_two_arm(a, b)
    assert p_a == pytest.approx(exact_p_a, abs=5e-4)
    assert p_a + p_b == pytest.approx(1.0, abs=1e-6)
    scale = max(exact_loss_a, exact_loss_b, 1e-4)
    assert loss_a == pytest.approx(exact_loss_a, abs=0.005 * scale)
    assert loss_b == pytest.approx(exact_loss_b, abs=0.005 * scale)


def test_quadrature_holds_on_posteriors_too_narrow_for_a_fixed_grid() -> None:
    """2M impressions an arm: sd 1.2e-4. The normal approximation is exact to ~1e-3 here."""
    a, b = ArmCounts("a", 2_000_000, 60_000), ArmCounts("b", 2_000_000, 60_300)
    (p_a, _), _ = posterior_summary_quadrature([a, b])
    mean = [(1 + x.successes) / (2 + x.trials) for x in (a, b)]
    var = sum(m * (1 - m) / (3 + x.trials) for m, x in zip(mean, (a, b), strict=True))
    assert p_a == pytest.approx(sps.norm.cdf((mean[0] - mean[1]) / var**0.5), abs=2e-3)


def test_quadrature_agrees_with_monte_carlo_for_several_arms() -> None:
    arms = [ArmCounts("a", 500, 50), ArmCounts("b", 480, 58), ArmCounts("c", 520, 61), ArmCounts("d", 90, 3)]
    (quad_p, quad_loss), (mc_p, mc_loss) = posterior_summary_quadrature(arms), posterior_summary(arms)
    assert quad_p == pytest.approx(mc_p, abs=0.006) and sum(quad_p) == pytest.approx(1.0, abs=1e-6)
    assert quad_loss == pytest.approx(mc_loss, abs=5e-4)


def test_posterior_is_deterministic_for_a_seed() -> None:
    arms = [ArmCounts("a", 500, 50), ArmCounts("b", 500, 58), ArmCounts("c", 500, 61)]
    assert posterior_summary(arms, seed=3) == posterior_summary(arms, seed=3)
    assert posterior_summary(arms, seed=3) != posterior_summary(arms, seed=4)
    assert analyze(arms, "a", seed=3) == analyze(arms, "a", seed=3)


def _big_effect() -> list[ArmCounts]:
    return [ArmCounts("control", 20000, 1000), ArmCounts("b", 20000, 1320), ArmCounts("c", 20000, 1020)]


def test_clear_winner_is_named() -> None:
    result = analyze(_big_effect(), "control")

    assert result.ready
    assert result.winner_id == "b"
    assert not result.srm_flag
    b = result.arm("b")
    assert b.prob_best >= 0.95
    assert b.significant
    assert b.lift_vs_control == pytest.approx((1320 - 1000) / 1000)
    assert b.expected_loss < result.arm("c").expected_loss
    assert "b beats every other arm under the always-valid test" in result.reason
    assert result.sequential["winner_id"] == "b" and result.sequential["p_value"] < 0.05
    control = result.arm("control")
    assert control.z is None and control.p_value_holm is None and control.lift_vs_control is None
    assert not control.significant


def test_analysis_tests_agree_with_statsmodels_across_arms() -> None:
    rng = np.random.default_rng(11)
    for _ in range(8):
        n = rng.integers(50, 3000, size=4)
        s = rng.binomial(n, rng.uniform(0.02, 0.3, size=4))
        arms = [ArmCounts(f"arm{i}", int(n[i]), int(s[i])) for i in range(4)]
        result = analyze(arms, "arm0", draws=2000)
        raw = [proportions_ztest([s[i], s[0]], [n[i], n[0]])[1] for i in range(1, 4)]
        _, holm, _, _ = multipletests(raw, method="holm")
        got = [result.arm(f"arm{i}") for i in range(1, 4)]
        assert [a.p_value_vs_control for a in got] == pytest.approx(raw, rel=1e-9)
        assert [a.p_value_holm for a in got] == pytest.approx(list(holm), rel=1e-9)
        assert sum(a.prob_best for a in result.arms) == pytest.approx(1.0)


def test_minimum_sample_blocks_the_winner() -> None:
    arms = [ArmCounts("control", 5000, 250), ArmCounts("b", 80, 40)]
    result = analyze(arms, "control", min_sample=100)

    assert result.arm("b").prob_best > 0.99
    assert not result.ready
    assert result.winner_id is None
    assert "minimum sample of 100" in result.reason and "b (80)" in result.reason


def test_sample_ratio_mismatch_blocks_the_winner() -> None:
    arms = [ArmCounts("control", 5000, 250, 0.5), ArmCounts("b", 4000, 330, 0.5)]
    result = analyze(arms, "control")

    assert result.arm("b").prob_best > 0.99
    assert result.srm_flag and result.srm_p_value < 0.001
    assert result.winner_id is None and not result.ready
    assert "sample ratio mismatch" in result.reason


def test_planned_uneven_split_is_not_a_mismatch() -> None:
    arms = [ArmCounts("control", 32000, 1600, 0.8), ArmCounts("b", 8000, 640, 0.2)]
    result = analyze(arms, "control")
    assert not result.srm_flag
    assert result.winner_id == "b"


def test_no_arm_at_threshold_means_ready_without_winner() -> None:
    arms = [ArmCounts("control", 2000, 100), ArmCounts("b", 2000, 101)]
    result = analyze(arms, "control")
    assert result.ready
    assert result.winner_id is None
    assert "the leader b has not yet beaten control" in result.reason


def test_control_can_win() -> None:
    arms = [ArmCounts("control", 10000, 800), ArmCounts("b", 10000, 600)]
    result = analyze(arms, "control")
    assert result.winner_id == "control"
    assert result.arm("b").z < 0


def test_zero_trials_do_not_crash_and_serialise() -> None:
    arms = [ArmCounts("control", 0, 0), ArmCounts("b", 0, 0)]
    result = analyze(arms, "control", min_sample=0)

    b = result.arm("b")
    assert (b.rate, b.wilson_low, b.wilson_high) == (0.0, 0.0, 1.0)
    assert (b.z, b.p_value_vs_control, b.p_value_holm) == (0.0, 1.0, 1.0)
    assert b.lift_vs_control is None
    assert result.srm_p_value == 1.0 and not result.srm_flag
    assert result.arm("control").prob_best == pytest.approx(0.5, abs=0.01)
    assert result.winner_id is None
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["arms"][1]["arm_id"] == "b"
    assert data["winner_id"] is None
    assert ArmCounts(**arms[0].to_dict()) == arms[0]


def test_analysis_to_dict_is_strict_json() -> None:
    data = json.loads(json.dumps(analyze(_big_effect(), "control").to_dict(), allow_nan=False))
    assert data["winner_id"] == "b"
    assert {"rate", "wilson_low", "wilson_high", "prob_best", "expected_loss"} <= set(data["arms"][0])


def test_thompson_equal_split_during_warm_up() -> None:
    arms = [ArmCounts("a", 5000, 100), ArmCounts("b", 5000, 900), ArmCounts("c", 99, 0)]
    assert thompson_weights(arms, min_sample=100) == {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}


def test_thompson_weights_follow_posteriors_with_a_floor() -> None:
    arms = [ArmCounts("a", 5000, 100), ArmCounts("b", 5000, 900), ArmCounts("c", 5000, 120)]
    weights = thompson_weights(arms, floor=0.05, min_sample=100)

    assert sum(weights.values()) == pytest.approx(1.0)
    assert min(weights.values()) >= 0.05
    assert weights["b"] == pytest.approx(0.9, abs=1e-9)
    assert weights["a"] == pytest.approx(0.05, abs=1e-9)
    assert weights == thompson_weights(arms, floor=0.05, min_sample=100)


@FIXED
@given(st.lists(counts(max_trials=400), min_size=2, max_size=5), st.floats(0.0, 0.2))
def test_thompson_weights_always_sum_to_one_above_floor(rows: list[tuple[int, int]], floor: float) -> None:
    arms = [ArmCounts(f"a{i}", n, s) for i, (s, n) in enumerate(rows)]
    floor = min(floor, 1 / len(arms))
    weights = thompson_weights(arms, floor=floor, min_sample=50, draws=500)
    assert list(weights) == [arm.arm_id for arm in arms]
    assert math.isclose(sum(weights.values()), 1.0, rel_tol=1e-9)
    assert min(weights.values()) >= floor - 1e-12


def test_invalid_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        ArmCounts("a", 10, 11)
    with pytest.raises(ValueError):
        ArmCounts("a", -1, 0)
    with pytest.raises(ValueError):
        ArmCounts("a", 10, 1, 0.0)
    good = [ArmCounts("a", 10, 1), ArmCounts("b", 10, 2)]
    with pytest.raises(ValueError, match="control"):
        analyze(good, "zzz")
    with pytest.raises(ValueError, match="unique"):
        analyze([ArmCounts("a", 1, 0), ArmCounts("a", 1, 0)], "a")
    with pytest.raises(ValueError, match="two arms"):
        analyze(good[:1], "a")
    with pytest.raises(ValueError, match="every arm or on none"):
        analyze([ArmCounts("a", 1, 0, 0.5), ArmCounts("b", 1, 0)], "a")
    with pytest.raises(ValueError, match="floor"):
        thompson_weights(good, floor=0.6)
    with pytest.raises(ValueError, match="prior"):
        posterior_summary(good, prior=(0.0, 1.0))
