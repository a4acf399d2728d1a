"""Traffic allocation: a deterministic weighted pick per unit, and Thompson-sampling weights."""
from __future__ import annotations

import hashlib
from collections.abc import Sequence

from prefcontent.experiments.stats import ArmCounts, thompson_weights


def bucket(experiment_id: int, unit_hash: str) -> float:
    """A number in [0, 1) fixed by experiment and unit: the same unit always lands in the same place,
    and its places in two experiments are independent."""
    digest = hashlib.sha256(f"{experiment_id}:{unit_hash}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def pick_arm(weighted_arms: Sequence[tuple[int, float]], point: float) -> int:
    """The arm whose slice of [0, 1) holds `point`; slices follow the weights in the given order."""
    total = sum(max(w, 0.0) for _, w in weighted_arms)
    if total <= 0:
        return weighted_arms[int(point * len(weighted_arms))][0]
    edge = 0.0
    for arm_id, weight in weighted_arms:
        edge += max(weight, 0.0) / total
        if point < edge:
            return arm_id
    return weighted_arms[-1][0]


MAX_ARM_WEIGHT = 1e6  # relative weights: a million to one is already a split no test needs


def normalise(weights: Sequence[float]) -> list[float]:
    """Shares that sum to 1. Bounded inputs: two weights of 1e308 sum to inf and every share to 0."""
    if any(not 0 <= w <= MAX_ARM_WEIGHT for w in weights) or sum(weights) <= 0:
        raise ValueError(f"weights must be between 0 and {MAX_ARM_WEIGHT:g} with a positive sum")
    total = sum(weights)
    return [w / total for w in weights]


def thompson_allocation(counts: Sequence[tuple[int, int, int]], *, floor: float, warmup: int,
                        seed: int) -> dict[int, float]:
    """Weights from (arm_id, trials, successes): equal split until every arm has `warmup` trials,
    then floor + (1 - k*floor) * P(best) from the Beta posteriors."""
    arms = [ArmCounts(arm_id=str(a), trials=t, successes=min(s, t)) for a, t, s in counts]
    floor = min(floor, 1 / len(arms))
    weights = thompson_weights(arms, floor=floor, min_sample=warmup, seed=seed)
    return {int(k): v for k, v in weights.items()}
