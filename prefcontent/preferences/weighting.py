"""Evidence and weight of "winner beat loser" from the two arms' counts, vectorised over many pairs.

`prob_better` is P(rate_winner > rate_loser) under the same Beta(1 + successes, 1 + failures)
posteriors the stats engine (prefcontent.experiments.stats) uses, computed with the normal
approximation to the difference of the two Betas instead of Monte Carlo: closed form, so ten
thousand experiments cost one numpy call rather than ten thousand samplers. With the minimum
samples experiments need it agrees with `stats.posterior_summary` to Monte Carlo error (tested).
`p_value` is the engine's pooled two-proportion z-test, vectorised.

weight = (2 * prob_better - 1) * lift / (lift + LIFT_HALF): no weight for a coin flip or no
lift, approaching 1 as both the certainty and the relative lift grow; a lift of LIFT_HALF
(5%) gets half of the certainty term.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

LIFT_HALF = 0.05
PRIOR = (1.0, 1.0)


@dataclass(frozen=True)
class PairEvidence:
    """What the counts say about one winner/loser pair."""

    prob_better: float  # posterior P(winner's rate > loser's rate)
    lift: float | None  # (winner rate - loser rate) / loser rate; None when the loser's rate is 0
    p_value: float  # two-sided pooled z-test of the two rates
    weight: float  # training weight in [0, 1]


def pair_evidence(
    win_trials: np.ndarray, win_successes: np.ndarray, lose_trials: np.ndarray, lose_successes: np.ndarray,
) -> list[PairEvidence]:
    """Evidence for each (winner, loser) count quadruple, in input order."""
    nw, sw = np.asarray(win_trials, dtype=float), np.asarray(win_successes, dtype=float)
    nl, sl = np.asarray(lose_trials, dtype=float), np.asarray(lose_successes, dtype=float)
    a0, b0 = PRIOR

    def beta_moments(n, s):
        a, b = a0 + s, b0 + n - s
        mean = a / (a + b)
        var = a * b / ((a + b) ** 2 * (a + b + 1))
        return mean, var

    mw, vw = beta_moments(nw, sw)
    ml, vl = beta_moments(nl, sl)
    prob = ndtr((mw - ml) / np.sqrt(vw + vl))

    rate_w = np.divide(sw, nw, out=np.zeros_like(sw), where=nw > 0)
    rate_l = np.divide(sl, nl, out=np.zeros_like(sl), where=nl > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where(rate_l > 0, (rate_w - rate_l) / rate_l, np.nan)
        pooled = (sw + sl) / (nw + nl)
        var = pooled * (1 - pooled) * (1 / nw + 1 / nl)
        z = np.where(var > 0, (rate_w - rate_l) / np.sqrt(var), 0.0)
    p_value = np.where((nw > 0) & (nl > 0) & (var > 0), 2 * ndtr(-np.abs(z)), 1.0)

    # A loser with no successes gives no relative lift; any positive winner rate then counts as large.
    lift_term = np.where(np.isnan(lift), np.where(rate_w > 0, 1.0, 0.0),
                         np.clip(lift, 0, None) / (np.clip(lift, 0, None) + LIFT_HALF))
    weight = np.clip(2 * prob - 1, 0, 1) * lift_term
    return [
        PairEvidence(prob_better=round(p, 6), lift=None if math.isnan(li) else round(li, 6), p_value=pv, weight=round(w, 6))
        for p, li, pv, w in zip(prob.tolist(), lift.tolist(), p_value.tolist(), weight.tolist(), strict=True)
    ]
