"""Normal and chi-square tails at the cost of a few float operations.

The decision pass evaluates thousands of experiments, each a few dozen tail look-ups; scipy's
distribution objects cost ~100 µs a call in argument checking, more than the analysis around them.
`statistics.NormalDist` (Wichura's AS241) and `math.erfc` give the same values to double precision.
"""
from __future__ import annotations

import math
from statistics import NormalDist

from scipy import stats as sps

_STANDARD = NormalDist()


def norm_isf(q: float) -> float:
    """z with P(Z > z) = q (scipy.stats.norm.isf)."""
    return -_STANDARD.inv_cdf(q)


def norm_sf(z: float) -> float:
    """P(Z > z) (scipy.stats.norm.sf)."""
    return 0.5 * math.erfc(z / math.sqrt(2))


def chi2_sf(x: float, df: int) -> float:
    """P(X > x) for X ~ chi-square(df) (scipy.stats.chi2.sf); closed forms for 1 and 2 degrees of freedom."""
    if x <= 0:
        return 1.0
    if df == 1:
        return math.erfc(math.sqrt(x / 2))
    if df == 2:
        return math.exp(-x / 2)
    return float(sps.chi2.sf(x, df))
