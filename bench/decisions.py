"""Is the decision rule valid when it is watched, and what does watching cost?

Simulates experiments reader by reader (impressions per reader 1 + Poisson(1), each a click with
the arm's CTR), looks after every batch of readers and applies the product's always-valid rule
(prefcontent.experiments.sequential.sequential_test, with the experiment's minimum sample) at each
look, as the periodic decision task does.

- `aa_false_winner_rate`: A/A experiments (both arms 3 % CTR), 50 looks of 500 readers per arm:
  the share that names a winner at any look. Floor: alpha (0.05) plus two Monte Carlo errors.
- `readers_vs_fixed_horizon`: experiments with a +20 % relative lift at 3 % CTR, looked at every
  5 % of the fixed horizon: the readers by which 80 % of them concluded for the better arm, over
  the readers at which a fixed-horizon z-test of the same alpha, looked at once, reaches 80 % power
  on the same sample paths (its analytic value is printed too). Floor: 1.5.
- The same two under Thompson allocation (the product's thompson_weights, floor 0.05, warm-up 100
  impressions, weights recomputed after every batch): readers are assigned with the current
  weights and analysed by inverse-propensity weighting with those stored propensities. The
  fixed-horizon baseline there is the same IPW z-test looked at once on the same Thompson paths,
  so the ratio is the price of looking, not of the allocation; the readers an equal split would
  need are printed as well (`thompson_readers_vs_equal_split`).

`--quick`: fewer experiments (same figures, wider Monte Carlo error), a few minutes.

`--scale`: the decision pass over 5,000 running experiments on PostgreSQL and the ingestion it costs
(bench/decisions_scale.py): decision_pass_s, ingest_alone_per_s, ingest_during_pass_per_s,
ingest_during_pass_ratio.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np
from scipy import stats as sps

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from prefcontent.experiments.sequential import (  # noqa: E402
    ArmReaders,
    fixed_horizon_readers,
    sequential_test,
    tuning_readers,
)
from prefcontent.experiments.stats import ArmCounts, thompson_weights  # noqa: E402

ALPHA = 0.05
CTR = 0.03
LIFT = 0.20
MEAN_IMPRESSIONS = 2.0  # 1 + Poisson(1)
MIN_SAMPLE = 100  # impressions per arm before any decision (the experiment's min_sample_per_arm)
MDE = 0.20  # the brand's minimum detectable effect (relative), as such a brand would set it
BASELINE = CTR * MEAN_IMPRESSIONS  # the brand's usual clicks per reader
FLOOR, WARMUP = 0.05, 100


class Arm:
    """Running sufficient statistics of one simulated arm."""

    def __init__(self) -> None:
        self.readers = 0
        self.impressions = 0
        self.clicks = 0
        self.y = self.y2 = self.ipw = self.ipw2 = self.w2 = 0.0

    def add(self, impressions: np.ndarray, clicks: np.ndarray, propensity: float) -> None:
        self.readers += len(clicks)
        self.impressions += int(impressions.sum())
        self.clicks += int(clicks.sum())
        self.y += float(clicks.sum())
        self.y2 += float((clicks**2).sum())
        self.ipw += float(clicks.sum()) / propensity
        self.ipw2 += float((clicks**2).sum()) / propensity**2
        self.w2 += len(clicks) / propensity**2

    def readers_stats(self, arm_id: str, adaptive: bool) -> ArmReaders:
        return ArmReaders(arm_id, self.readers, self.y, self.y2, self.ipw if adaptive else None,
                          self.ipw2 if adaptive else None, self.w2 if adaptive else None)


def _readers(rng: np.random.Generator, n: int, ctr: float) -> tuple[np.ndarray, np.ndarray]:
    impressions = 1 + rng.poisson(MEAN_IMPRESSIONS - 1, n)
    return impressions, rng.binomial(impressions, ctr)


def _ipw_z(arms: list[Arm]) -> float:
    """Fixed-horizon z of the IPW difference (arm 1 - arm 0), one look, with the variance the product's
    test uses (no smaller than under "no difference": with the plain one a single look at Thompson
    data does not hold its error rate, as the starved arm's few clicks understate its variance)."""
    n = sum(a.readers for a in arms)
    mean = (arms[1].ipw - arms[0].ipw) / n
    second_moment = sum(a.y2 for a in arms) / n
    var = max((arms[1].ipw2 + arms[0].ipw2) / n - mean**2, second_moment * (arms[0].w2 + arms[1].w2) / n)
    return mean / math.sqrt(var / n) if var > 0 else 0.0


def _plain_z(arms: list[Arm]) -> float:
    a, b = arms
    va = (a.y2 - a.y**2 / a.readers) / (a.readers - 1)
    vb = (b.y2 - b.y**2 / b.readers) / (b.readers - 1)
    se = math.sqrt(va / a.readers + vb / b.readers)
    return (b.y / b.readers - a.y / a.readers) / se if se > 0 else 0.0


def run_experiment(rng: np.random.Generator, *, ctrs: tuple[float, float], batch: int, looks: int,
                   thompson: bool, tuning: int) -> tuple[int | None, str | None, list[float], list[int]]:
    """(look index of the first decision, winner, fixed-horizon z at each look, readers at each look)."""
    arms = [Arm(), Arm()]
    weights = [0.5, 0.5]
    decided_at, winner = None, None
    zs, readers = [], []
    for look in range(looks):
        if thompson:
            chosen = rng.random(2 * batch) < weights[1]
            for index, arm in enumerate(arms):
                n = int(chosen.sum()) if index else int((~chosen).sum())
                arm.add(*_readers(rng, n, ctrs[index]), weights[index])
        else:
            for index, arm in enumerate(arms):
                arm.add(*_readers(rng, batch, ctrs[index]), 0.5)
        readers.append(sum(a.readers for a in arms))
        zs.append(_ipw_z(arms) if thompson else _plain_z(arms))
        if decided_at is None and all(a.impressions >= MIN_SAMPLE for a in arms):
            result = sequential_test([a.readers_stats(str(i), thompson) for i, a in enumerate(arms)],
                                     alpha=ALPHA, minimum_detectable_effect=MDE, tuning=tuning, adaptive=thompson,
                                     estimate=False)
            if result.winner_id is not None:
                decided_at, winner = look, result.winner_id
        if thompson:
            counts = [ArmCounts(str(i), a.impressions, a.clicks) for i, a in enumerate(arms)]
            w = thompson_weights(counts, floor=FLOOR, min_sample=WARMUP, draws=4000, seed=look)
            weights = [w["0"], w["1"]]
    return decided_at, winner, zs, readers


def aa_rate(rng, experiments: int, thompson: bool, tuning: int) -> tuple[float, float]:
    wins = sum(run_experiment(rng, ctrs=(CTR, CTR), batch=500, looks=50, thompson=thompson,
                              tuning=tuning)[0] is not None for _ in range(experiments))
    rate = wins / experiments
    return rate, math.sqrt(ALPHA * (1 - ALPHA) / experiments)


def lift_ratio(rng, experiments: int, thompson: bool, tuning: int, horizon: float) -> dict[str, float]:
    # Readers per arm per look: 5 % of the equal-split fixed horizon, up to 4x it; Thompson starves the
    # worse arm (down to its floor), which needs several times the readers: 10 % steps up to 15x.
    fraction, looks = (0.10, 150) if thompson else (0.05, 80)
    step = max(10, int(horizon * fraction / 2))
    crit = sps.norm.isf(ALPHA / 2)
    stops, fixed_power = [], np.zeros(looks)
    readers_at = None
    wrong = 0
    for _ in range(experiments):
        decided, winner, zs, readers = run_experiment(rng, ctrs=(CTR, CTR * (1 + LIFT)), batch=step, looks=looks,
                                                      thompson=thompson, tuning=tuning)
        readers_at = readers if readers_at is None else np.maximum(readers_at, readers)
        stops.append(readers[decided] if decided is not None and winner == "1" else math.inf)
        wrong += winner == "0"
        fixed_power += np.array(zs) > crit
    power = fixed_power / experiments
    reached = np.nonzero(power >= 0.8)[0]
    fixed = float(np.mean([readers_at[reached[0]]])) if len(reached) else math.inf
    stops.sort()
    sequential = float(stops[math.ceil(0.8 * len(stops)) - 1])  # inf when fewer than 80 % concluded
    return {"sequential": sequential, "fixed": fixed, "ratio": sequential / fixed,
            "concluded": float(np.mean(np.isfinite(stops))), "wrong": wrong / experiments}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer experiments (a few minutes)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale", action="store_true", help="the decision pass at scale on PostgreSQL instead")
    parser.add_argument("--brands", type=int, default=500, help="--scale: brands")
    parser.add_argument("--per-brand", type=int, default=10, help="--scale: running experiments per brand")
    parser.add_argument("--hot-brands", type=int, default=50, help="--scale: brands whose experiments get events")
    parser.add_argument("--batches", type=int, default=150, help="--scale: batches of 500 events per load")
    parser.add_argument("--concurrency", type=int, default=2, help="--scale: Celery worker processes")
    parser.add_argument("--workers", type=int, default=2, help="--scale: gunicorn workers")
    parser.add_argument("--worker-nice", type=int, default=4, help="--scale: the Celery worker's extra niceness")
    parser.add_argument("--connections", type=int, default=4, help="--scale: concurrent ingestion clients")
    args = parser.parse_args()
    if args.scale:
        from bench.decisions_scale import run_scale

        run_scale(args)
        return
    aa_n, lift_n = (500, 300) if args.quick else (1000, 1000)
    thompson_aa_n, thompson_lift_n = (500, 100) if args.quick else (1000, 500)
    rng = np.random.default_rng(args.seed)
    tuning = tuning_readers(alpha=ALPHA, baseline_rate=BASELINE, minimum_detectable_effect=MDE)
    sd = math.sqrt(MEAN_IMPRESSIONS * CTR * (1 - CTR) + CTR**2)  # Var(y) with 1 + Poisson(1) impressions
    analytic = fixed_horizon_readers(CTR * LIFT * MEAN_IMPRESSIONS, sd, alpha=ALPHA)
    started = time.perf_counter()
    print(f"alpha={ALPHA} tuning_readers={tuning} fixed_horizon_readers_analytic={analytic:.0f}")

    rate, mc = aa_rate(rng, aa_n, False, tuning)
    print(f"aa_experiments={aa_n} aa_looks=50")
    print(f"aa_false_winner_rate={rate:.4f}")
    print(f"aa_false_winner_rate_floor={ALPHA + 2 * mc:.4f}")
    lift = lift_ratio(rng, lift_n, False, tuning, analytic)
    print(f"lift_experiments={lift_n} lift_concluded_share={lift['concluded']:.3f} lift_wrong_winner={lift['wrong']:.3f}")
    print(f"sequential_readers_at_80pct={lift['sequential']:.0f}")
    print(f"fixed_horizon_readers_at_80pct_power={lift['fixed']:.0f}")
    print(f"readers_vs_fixed_horizon={lift['ratio']:.3f}")

    rate, mc = aa_rate(rng, thompson_aa_n, True, tuning)
    print(f"aa_experiments_thompson={thompson_aa_n}")
    print(f"aa_false_winner_rate_thompson={rate:.4f}")
    print(f"aa_false_winner_rate_thompson_floor={ALPHA + 2 * mc:.4f}")
    lift = lift_ratio(rng, thompson_lift_n, True, tuning, analytic)
    print(f"lift_experiments_thompson={thompson_lift_n} lift_concluded_share_thompson={lift['concluded']:.3f} "
          f"lift_wrong_winner_thompson={lift['wrong']:.3f}")
    print(f"sequential_readers_at_80pct_thompson={lift['sequential']:.0f}")
    print(f"fixed_horizon_readers_at_80pct_power_thompson={lift['fixed']:.0f}")
    print(f"readers_vs_fixed_horizon_thompson={lift['ratio']:.3f}")
    print(f"thompson_readers_vs_equal_split={lift['sequential'] / analytic:.3f}")
    print(f"bench_s={time.perf_counter() - started:.1f}")


if __name__ == "__main__":
    main()
