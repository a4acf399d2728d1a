"""Always-valid decisions: a mixture sequential probability ratio test on readers (no Django).

The rule that names a winner is looked at after every batch of events, so it must hold however
often it is looked at. Each pair of arms is tested with a mixture likelihood ratio, the
construction behind the confidence sequences of Howard, Ramdas, McAuliffe and Sekhon (2021) and
the mSPRT of GrowthBook's and Optimizely's engines, in its asymptotic form (Waudby-Smith et al.,
"Time-uniform central limit theory and asymptotic confidence sequences", 2023): with z the
difference over its standard error after n readers and S = z sqrt(n),

    L_n = integral of exp(l S - l^2 n / 2) dF(l),

a nonnegative martingale of mean 1 under "no difference" for any mixing distribution F, so by
Ville's inequality P(L_n >= 1 / alpha at any n) <= alpha: 1 / L_n is an always-valid p-value and
{differences whose L_n < 1 / alpha} a confidence sequence. GrowthBook mixes over N(0, rho^2),
which spends most of its mass on effects too small to matter; here F is
1/2 N(m, (SPREAD m)^2) + 1/2 N(-m, (SPREAD m)^2), centred on the brand's minimum detectable effect
m (in standardized units: the effect a fixed-horizon test of `tuning_readers` readers detects with
80 % power), which concludes sooner on effects of that size (bench/decisions.py: 1.5x the
fixed-horizon readers at 80 % power, against 1.7x for the zero-centred mixture) and later on effects
far from it, below or above (a tenfold lift on 40 readers an arm does not conclude for a brand tuned
to +10 % at 5 %). Both are closed form (log_likelihood_ratio). Under adaptive allocation the centre
is the same effect at the split the allocation converges to (adaptive_design_effect).

Multiple arms: every pair of arms is compared and the p-values are Holm-adjusted. Holm is monotone
in the p-values, so a false rejection at any look implies one by Holm on the running minima, which
are valid p-values: the family-wise error stays at alpha however often it is looked at. The winner
is the arm that beats every other arm; a winner's every pair is then an established ordering.

Readers, not impressions, are the unit: assignment randomises readers, and a reader's repeated
page views are not independent draws. Each reader's outcome y is their count of the metric's
events (clicks or conversions per reader); impressions stay for display.

Adaptive allocation (Thompson): the weights move with the data, which biases plain per-arm means.
Such experiments are analysed by inverse-propensity weighting with the propensity each reader
was assigned with: psi_i = 1[arm a] y_i / pi_ia - 1[arm b] y_i / pi_ib has mean equal to the true
difference given the past (pi is fixed before the reader arrives), so the psi_i form a martingale
difference sequence, and the asymptotic confidence sequence above holds for it (Waudby-Smith et al.
treat martingale differences; the Thompson floor keeps pi away from 0, so psi is bounded). Its variance is taken
no smaller than under "no difference" (see _pair_moments).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from prefcontent.experiments.distributions import norm_isf

DIFFERENCE_IN_MEANS, IPW = "difference_in_means", "ipw"
POWER = 0.8  # the power the tuning (and the "readers needed" estimate) aims at
MAX_READERS = 10**12  # search bound of the readers-needed estimate


@dataclass(frozen=True)
class ArmReaders:
    """One arm's per-reader sufficient statistics (y = the reader's count of the metric's events)."""

    arm_id: str  # stable identifier of the arm
    readers: int  # readers analysed (IPW: readers assigned with a stored propensity)
    total: float  # sum of y
    total_sq: float  # sum of y^2
    ipw_total: float | None = None  # sum of y / propensity (adaptive allocation only)
    ipw_total_sq: float | None = None  # sum of (y / propensity)^2 (adaptive allocation only)
    ipw_weight_sq: float | None = None  # sum of 1 / propensity^2 (adaptive allocation only)

    def __post_init__(self) -> None:
        if self.readers < 0 or self.total < 0 or self.total_sq < 0:
            raise ValueError(f"arm {self.arm_id!r}: readers and sums must be >= 0")

    @property
    def mean(self) -> float:
        return self.total / self.readers if self.readers else 0.0

    @property
    def variance(self) -> float:
        """Sample variance of y (0 below two readers)."""
        if self.readers < 2:
            return 0.0
        return max(0.0, (self.total_sq - self.total**2 / self.readers) / (self.readers - 1))


@dataclass(frozen=True)
class Comparison:
    """One pair of arms under the confidence sequence."""

    better_id: str  # the arm with the higher estimate
    worse_id: str  # the other arm
    difference: float  # estimated mean difference per reader, better - worse (>= 0)
    relative_lift: float | None  # difference / worse arm's mean; None when that mean is 0
    cs_low: float | None  # confidence sequence for the difference at the family-wise level (alpha / pairs);
    cs_high: float | None  # None while it is unbounded (no variance yet)
    z: float  # difference / its standard error
    readers: int  # readers the boundary counts (the pair's, or all readers under IPW)
    p_value: float  # always-valid p-value of "no difference", unadjusted
    p_value_holm: float  # Holm-adjusted across every pair of arms
    significant: bool  # p_value_holm < alpha: the ordering is established
    readers_needed: int | None  # readers (as counted in `readers`) at which the observed difference (the
    # minimum detectable effect while there is none) would be established, at today's variance; None without one

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))  # flat: no deep copy (asdict) on the pass's path


@dataclass(frozen=True)
class SequentialResult:
    """The always-valid verdict on an experiment at one look."""

    method: str  # DIFFERENCE_IN_MEANS (fixed allocation) or IPW (adaptive allocation)
    alpha: float  # family-wise error rate of the decision, however often it is looked at
    minimum_detectable_effect: float  # relative lift the tuning (and the estimate) is built for
    tuning_readers: int  # readers at which the sequence is tightest
    design_effect: float  # the mixture's centre: the standardized effect per reader it is built to find
    arms: tuple[ArmReaders, ...]  # what was analysed
    means: dict[str, float]  # the estimate of each arm's mean per reader (IPW-weighted under IPW)
    comparisons: tuple[Comparison, ...]  # every pair of arms
    leader_id: str  # the arm with the highest estimate
    winner_id: str | None  # the leader when it beats every other arm, else None
    p_value: float  # the leader's weakest Holm-adjusted always-valid p-value: the decision's evidence
    readers: int  # readers analysed in all
    readers_needed: int | None  # estimate of the readers in all the decision needs; None: unknown
    reason: str  # for people

    def to_dict(self) -> dict[str, Any]:
        data = dict(vars(self))
        data["means"] = dict(self.means)
        data["arms"], data["comparisons"] = [dict(vars(a)) for a in self.arms], [c.to_dict() for c in self.comparisons]
        return data


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values, as statsmodels multipletests(method="holm")."""
    p = np.asarray(p_values, dtype=float)
    m = len(p)
    if m == 0:
        return []
    order = np.argsort(p, kind="stable")
    stepped = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(stepped)
    return adjusted.tolist()


SPREAD = 0.1  # the mixture's spread around +-the design effect, as a fraction of it (bench/decisions.py)


def adaptive_design_effect(m: float, floor: float) -> float:
    """The design effect under Thompson allocation: the same rule as under a fixed split (the effect the
    test is built to find, in standardized units), at the split Thompson converges to when that effect
    is real: the worse arm at its floor, so the IPW variance has 1 / floor + 1 / (1 - floor) where the
    equal split has 4, and the standardized effect shrinks by sqrt(4 floor (1 - floor))."""
    f = min(max(floor, 0.01), 0.5)
    return m * math.sqrt(4 * f * (1 - f))


def design_effect(tuning_readers: float, *, alpha: float, power: float = POWER) -> float:
    """The standardized effect (per observation) a fixed-horizon test of `tuning_readers` detects with
    `power`: the centre of the mixture."""
    if not 0 < alpha < 1 or tuning_readers <= 0:
        raise ValueError("need 0 < alpha < 1 and tuning_readers > 0")
    return (norm_isf(alpha / 2) + norm_isf(1 - power)) / math.sqrt(tuning_readers)


def log_likelihood_ratio(z: float, n: float, m: float, spread: float | None = None) -> float:
    """log of the mixture martingale after n observations with statistic z: exp(l S - l^2 n / 2) with
    S = z sqrt(n), mixed over l ~ 1/2 N(m, (spread m)^2) + 1/2 N(-m, (spread m)^2)."""
    if n <= 0:
        return 0.0
    tau2 = ((SPREAD if spread is None else spread) * m) ** 2
    s = abs(z) * math.sqrt(n)
    denominator = 2 * (n + 1 / tau2)
    base = -0.5 * math.log1p(n * tau2) - m * m / (2 * tau2)
    near = (s + m / tau2) ** 2 / denominator  # the component on the side of the data
    far = (s - m / tau2) ** 2 / denominator
    return base + near + math.log1p(math.exp(far - near)) - math.log(2)


def always_valid_p(z: float, n: float, m: float, spread: float | None = None) -> float:
    """1 / the mixture likelihood ratio, capped at 1: the smallest alpha whose sequence excludes 0."""
    return min(1.0, math.exp(-log_likelihood_ratio(z, n, m, spread)))


def critical_z(n: float, m: float, alpha: float, spread: float | None = None) -> float:
    """The |z| at which the mixture reaches 1 / alpha after n observations (the boundary).

    Newton on s = z sqrt(n), from the root without the far component (the log-likelihood is at least
    that component's, so the start lies right of the root; the function is convex and increasing
    there, so the steps fall monotonically onto it)."""
    if n <= 0:
        return math.inf
    tau2 = ((SPREAD if spread is None else spread) * m) ** 2
    denominator = 2 * (n + 1 / tau2)
    shift = m / tau2
    target = -math.log(alpha) + 0.5 * math.log1p(n * tau2) + m * m / (2 * tau2) + math.log(2)
    s = max(0.0, math.sqrt(denominator * target) - shift)  # near^2 / denominator = target
    for _ in range(50):
        near, far = (s + shift) ** 2 / denominator, (s - shift) ** 2 / denominator
        top = max(near, far)
        value = top + math.log(math.exp(near - top) + math.exp(far - top)) - target
        weight = 1 / (1 + math.exp(far - near))  # the near component's share of the mixture
        slope = 2 * (weight * (s + shift) + (1 - weight) * (s - shift)) / denominator
        if slope <= 0:
            break
        step = value / slope
        s -= step
        if abs(step) <= 1e-12 * max(1.0, s):
            break
    return max(s, 0.0) / math.sqrt(n)


def margin(n: float, m: float, alpha: float, spread: float | None = None) -> float:
    """The unit-variance half-width of the two-sided (1 - alpha) sequence after n observations."""
    return critical_z(n, m, alpha, spread) / math.sqrt(n) if n > 0 else math.inf


def fixed_horizon_readers(effect: float, per_reader_sd: float, *, alpha: float, power: float = POWER,
                          share: float = 0.5) -> float:
    """Readers in all a two-sided fixed-horizon z-test needs to detect `effect` (absolute) with
    `power`, `share` of them in one arm."""
    if effect <= 0 or per_reader_sd <= 0:
        return math.inf
    crit = norm_isf(alpha / 2) + norm_isf(1 - power)
    return crit**2 * per_reader_sd**2 * (1 / share + 1 / (1 - share)) / effect**2


def tuning_readers(*, alpha: float, baseline_rate: float, minimum_detectable_effect: float) -> int:
    """Readers in all (two arms, equal split) a fixed-horizon test of `minimum_detectable_effect`
    (relative) at `baseline_rate` events per reader needs: the sequence is tuned to be tightest there."""
    effect = baseline_rate * minimum_detectable_effect
    sd = math.sqrt(baseline_rate * (1 - baseline_rate)) if baseline_rate < 1 else math.sqrt(baseline_rate)
    return max(1, math.ceil(fixed_horizon_readers(effect, sd, alpha=alpha)))


def readers_needed(target: float, s2: float, m: float, alpha: float, spread: float | None = None) -> int | None:
    """The smallest n at which the sequence's half-width sqrt(s2) * margin(n) is at most `target`."""
    if target <= 0 or s2 <= 0:
        return None
    wanted = target / math.sqrt(s2)
    if margin(MAX_READERS, m, alpha, spread) > wanted:
        return None
    guess = (3 / wanted) ** 2  # where a z of about 3 is reached: bracket around it, widen if needed
    low, high = max(1.0, guess / 8), min(float(MAX_READERS), guess * 8)
    while low > 1 and margin(low, m, alpha, spread) <= wanted:
        low = max(1.0, low / 8)
    while margin(high, m, alpha, spread) > wanted:
        high = min(float(MAX_READERS), high * 8)
    while high - low > max(1.0, low * 1e-2):  # an estimate: to a percent (the margin falls with n)
        mid = math.sqrt(low * high) if high > 4 * low else (low + high) / 2
        low, high = (mid, high) if margin(mid, m, alpha, spread) > wanted else (low, mid)
    return math.ceil(high)


def _pair_moments(a: ArmReaders, b: ArmReaders, method: str, population: int,
                  second_moment: float) -> tuple[float, float, int]:
    """(difference a - b, per-observation variance s2, n) of the pair's estimator.

    IPW: the larger of the plain variance of psi and its value under "no difference", the pooled
    E[y^2] times the arms' sums of 1 / propensity^2. Thompson starves the arm that did worse, and
    that arm's own few successes underestimate its share of the variance (so z runs high); under
    "no difference" every reader's y has the same second moment, so the pooled one is right."""
    if method == IPW:
        n = population
        if n == 0:
            return 0.0, 0.0, 0
        mean = ((a.ipw_total or 0.0) - (b.ipw_total or 0.0)) / n
        plain = ((a.ipw_total_sq or 0.0) + (b.ipw_total_sq or 0.0)) / n - mean**2
        null = second_moment * ((a.ipw_weight_sq or 0.0) + (b.ipw_weight_sq or 0.0)) / n
        return mean, max(0.0, plain, null), n
    n = a.readers + b.readers
    if a.readers == 0 or b.readers == 0:
        return a.mean - b.mean, 0.0, n
    var_diff = a.variance / a.readers + b.variance / b.readers
    return a.mean - b.mean, var_diff * n, n


def sequential_test(arms: Sequence[ArmReaders], *, alpha: float, minimum_detectable_effect: float,
                    tuning: int, adaptive: bool = False, floor: float = 0.05,
                    estimate: bool = True) -> SequentialResult:
    """Compare every pair of arms under the always-valid boundary; name the arm that beats all others.

    `estimate=False` skips the sequences' half-widths and the readers-needed estimates (the simulations
    of bench/decisions.py need only the verdict)."""
    if len(arms) < 2:
        raise ValueError("an experiment needs at least two arms")
    if adaptive and any(None in (a.ipw_total, a.ipw_total_sq, a.ipw_weight_sq) for a in arms):
        raise ValueError("adaptive allocation needs ipw_total, ipw_total_sq and ipw_weight_sq on every arm")
    method = IPW if adaptive else DIFFERENCE_IN_MEANS
    m, spread = design_effect(tuning, alpha=alpha), SPREAD
    if adaptive:  # fixed before any data: the martingale stays a martingale
        m = adaptive_design_effect(m, floor)
    population = sum(a.readers for a in arms)
    second_moment = sum(a.total_sq for a in arms) / population if population else 0.0
    means = {a.arm_id: ((a.ipw_total or 0.0) / population if adaptive and population else a.mean) for a in arms}
    pairs = len(arms) * (len(arms) - 1) // 2
    level = alpha / pairs  # the sequences are shown at the Bonferroni level, which covers all pairs at once
    raw = []
    for i, a in enumerate(arms):
        for b in arms[i + 1:]:
            diff, s2, n = _pair_moments(a, b, method, population, second_moment)
            better, worse = (a, b) if diff >= 0 else (b, a)
            diff = abs(diff)
            z = diff / math.sqrt(s2 / n) if s2 > 0 and n > 0 else 0.0
            half = math.sqrt(s2) * margin(n, m, level, spread) if s2 > 0 and estimate else math.inf
            raw.append((better, worse, diff, z, n, s2, always_valid_p(z, n, m, spread), half))
    holm = holm_adjust([r[6] for r in raw])
    comparisons = []
    for (better, worse, diff, z, n, s2, p, half), p_holm in zip(raw, holm, strict=True):
        base = means[worse.arm_id]
        target = diff if diff > 0 else minimum_detectable_effect * base  # the observed difference, else the MDE
        comparisons.append(Comparison(
            better_id=better.arm_id, worse_id=worse.arm_id, difference=diff,
            relative_lift=diff / base if base > 0 else None,
            cs_low=diff - half if math.isfinite(half) else None, cs_high=diff + half if math.isfinite(half) else None, z=z, readers=n, p_value=p, p_value_holm=p_holm,
            significant=p_holm < alpha, readers_needed=readers_needed(target, s2, m, level, spread) if estimate else None))
    leader = max(arms, key=lambda a: means[a.arm_id]).arm_id
    own = [c for c in comparisons if leader in (c.better_id, c.worse_id)]
    beats_all = all(c.better_id == leader and c.significant for c in own)
    weakest = max(own, key=lambda c: c.p_value_holm)
    needed = _readers_needed_in_all(weakest, method, population, arms)
    winner = leader if beats_all else None
    if winner:
        reason = (f"{winner} beats every other arm under the always-valid test: the weakest ordering, over "
                  f"{weakest.worse_id}, has Holm-adjusted always-valid p={weakest.p_value_holm:.3g} < alpha={alpha:g} "
                  f"({method.replace('_', ' ')}, {population} readers)")
    else:
        missing = f"; about {needed} readers in all would settle it" if needed else ""
        reason = (f"the leader {leader} has not yet beaten {weakest.worse_id if weakest.better_id == leader else weakest.better_id}: "
                  f"Holm-adjusted always-valid p={weakest.p_value_holm:.3g} needs to fall below alpha={alpha:g} "
                  f"({population} readers so far{missing})")
    return SequentialResult(
        method=method, alpha=alpha, minimum_detectable_effect=minimum_detectable_effect, tuning_readers=tuning,
        design_effect=m, arms=tuple(arms), means=means, comparisons=tuple(comparisons), leader_id=leader,
        winner_id=winner, p_value=weakest.p_value_holm, readers=population, readers_needed=needed, reason=reason)


def _readers_needed_in_all(comparison: Comparison, method: str, population: int,
                           arms: Sequence[ArmReaders]) -> int | None:
    """The pair's readers-needed estimate scaled to the whole experiment (IPW already counts everyone)."""
    if comparison.readers_needed is None:
        return None
    if method == IPW:
        return comparison.readers_needed
    pair = sum(a.readers for a in arms if a.arm_id in (comparison.better_id, comparison.worse_id))
    if pair == 0:
        return None
    return math.ceil(comparison.readers_needed * population / pair)
