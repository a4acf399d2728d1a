import math

import numpy as np
import pytest
from scipy import integrate
from scipy import stats as sps

from prefcontent.experiments import sequential as sq
from prefcontent.experiments.sequential import ArmReaders, sequential_test


@pytest.mark.parametrize(("z", "n"), [(0.0, 100), (2.5, 5000), (-3.1, 20000), (4.0, 50000)])
def test_mixture_ratio_is_the_integral_of_the_exponential_martingales(z, n):
    m = sq.design_effect(12000, alpha=0.05)
    s, tau = z * math.sqrt(n), sq.SPREAD * m

    def integrand(lam):
        density = 0.5 * (sps.norm.pdf(lam, m, tau) + sps.norm.pdf(lam, -m, tau))
        return math.exp(lam * s - lam * lam * n / 2) * density

    exact, _ = integrate.quad(integrand, -m - 12 * tau, m + 12 * tau, points=[-m, m], limit=200)
    assert math.exp(sq.log_likelihood_ratio(z, n, m)) == pytest.approx(exact, rel=1e-6)


def test_p_value_and_confidence_sequence_agree():
    """The sequence excludes 0 exactly when the always-valid p-value is below alpha."""
    rng = np.random.default_rng(4)
    for _ in range(30):
        n = int(rng.integers(200, 20000))
        a = ArmReaders("a", n, float(rng.binomial(n, 0.05)), 0.0)
        clicks = float(rng.binomial(n, 0.06))
        b = ArmReaders("b", n, clicks, clicks)
        a = ArmReaders("a", n, a.total, a.total)
        result = sequential_test([a, b], alpha=0.05, minimum_detectable_effect=0.2, tuning=12000)
        (c,) = result.comparisons
        assert (c.cs_low > 0) == c.significant == (c.p_value < 0.05)


def test_aa_paths_watched_at_every_look_rarely_cross():
    """300 A/A experiments of Gaussian readers, 100 looks each: the share ever significant stays below alpha."""
    rng = np.random.default_rng(0)
    crossed = 0
    for _ in range(300):
        ya = rng.normal(1.0, 1.0, (100, 200))
        yb = rng.normal(1.0, 1.0, (100, 200))
        sa, sb = np.cumsum(ya.sum(axis=1)), np.cumsum(yb.sum(axis=1))
        qa, qb = np.cumsum((ya**2).sum(axis=1)), np.cumsum((yb**2).sum(axis=1))
        for look in range(100):
            n = 200 * (look + 1)
            arms = [ArmReaders("a", n, sa[look], qa[look]), ArmReaders("b", n, sb[look], qb[look])]
            if sequential_test(arms, alpha=0.05, minimum_detectable_effect=0.1, tuning=8000,
                               estimate=False).winner_id:
                crossed += 1
                break
    assert crossed / 300 < 0.05


def test_winner_must_beat_every_arm_with_holm():
    strong = [ArmReaders("a", 20000, 1000, 1000), ArmReaders("b", 20000, 1400, 1400), ArmReaders("c", 20000, 1390, 1390)]
    result = sequential_test(strong, alpha=0.05, minimum_detectable_effect=0.2, tuning=12000)
    assert result.leader_id == "b" and result.winner_id is None  # b and c are not told apart
    by_pair = {(c.better_id, c.worse_id): c for c in result.comparisons}
    assert by_pair[("b", "a")].significant and not by_pair[("b", "c")].significant
    assert result.p_value == by_pair[("b", "c")].p_value_holm
    assert result.readers_needed > result.readers and "has not yet beaten c" in result.reason
    p = [c.p_value for c in result.comparisons]
    assert [c.p_value_holm for c in result.comparisons] == pytest.approx(sq.holm_adjust(p))


def test_readers_needed_is_where_the_half_width_reaches_the_target():
    m = sq.design_effect(12000, alpha=0.05)
    n = sq.readers_needed(0.01, 0.24, m, 0.05)
    assert math.sqrt(0.24) * sq.margin(n, m, 0.05) <= 0.01 < math.sqrt(0.24) * sq.margin(n * 0.98, m, 0.05)
    assert sq.readers_needed(0.0, 0.24, m, 0.05) is None


def test_adaptive_needs_the_weighted_sums():
    with pytest.raises(ValueError, match="ipw_total"):
        sequential_test([ArmReaders("a", 10, 1, 1), ArmReaders("b", 10, 2, 2)], alpha=0.05,
                        minimum_detectable_effect=0.1, tuning=1000, adaptive=True)


def test_ipw_variance_is_never_below_its_value_under_no_difference():
    """The starved arm with no clicks yet would otherwise add nothing to the variance."""
    starved = ArmReaders("a", 50, 0.0, 0.0, 0.0, 0.0, 50 / 0.05**2)
    leader = ArmReaders("b", 950, 60.0, 60.0, 60 / 0.95, 60 / 0.95**2, 950 / 0.95**2)
    result = sequential_test([starved, leader], alpha=0.05, minimum_detectable_effect=0.2, tuning=12000,
                             adaptive=True)
    (c,) = result.comparisons
    plain = (60 / 0.95**2) / 1000 - c.difference**2
    pooled = (60 / 1000) * (50 / 0.05**2 + 950 / 0.95**2) / 1000
    assert pooled > plain
    assert c.z == pytest.approx(c.difference / math.sqrt(pooled / 1000))


@pytest.mark.parametrize("n", [1, 37, 2_000, 1e5, 3e7])
@pytest.mark.parametrize("m,alpha,spread", [(0.05, 0.05, None), (0.3, 0.01, 0.1), (0.002, 0.2, 1.0)])
def test_the_boundary_is_where_the_mixture_reaches_one_over_alpha(n, m, alpha, spread):
    z = sq.critical_z(n, m, alpha, spread)
    assert sq.log_likelihood_ratio(z, n, m, spread) == pytest.approx(-math.log(alpha), abs=1e-9)
    assert sq.log_likelihood_ratio(z * (1 - 1e-6), n, m, spread) < -math.log(alpha)  # the first |z| that does
