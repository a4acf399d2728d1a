"""Why readers_vs_fixed_horizon_thompson misses 1.5 (issue 25): a measurement, not a product change.

    python bench/thompson_centre.py info N     # information per reader along Thompson paths
    python bench/thompson_centre.py centre N SEED  # several mixture centres on the same paths

`info`: the readers the sequential rule needs over the fixed-horizon IPW z-test's, against the same
ratio in information (n / variance of the IPW estimate): equal ratios mean the price is the test's
tuning, not Thompson's falling information per reader. `centre`: the product's adaptive mixture (since 2026-12-03
centred at the floor split's effect), the one before it and alternatives evaluated on the same Thompson paths (+20 % lift, and A/A with 50 looks of 500): the
readers ratio and the A/A false-winner rate of each. Prints `name=value` style lines.
"""
import math
import sys
from pathlib import Path

import numpy as np
from scipy import stats as sps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import bench.decisions as bd  # noqa: E402
from prefcontent.experiments.sequential import (  # noqa: E402
    SPREAD,
    always_valid_p,
    design_effect,
    fixed_horizon_readers,
    sequential_test,
    tuning_readers,
)
from prefcontent.experiments.stats import ArmCounts, thompson_weights  # noqa: E402

WIDE = 0.5  # the adaptive mixture's spread before 2026-12-03 (centre halfway to the floor's effect)


def ipw_info(arms, plain=False):
    n = sum(a.readers for a in arms)
    mean = (arms[1].ipw - arms[0].ipw) / n
    second = sum(a.y2 for a in arms) / n
    pl = (arms[1].ipw2 + arms[0].ipw2) / n - mean**2
    nul = second * (arms[0].w2 + arms[1].w2) / n
    var = pl if plain else max(pl, nul)
    return mean, var, n, pl, nul

def run(rng, thompson, step, looks, tuning, ctrs):
    arms = [bd.Arm(), bd.Arm()]; weights = [0.5, 0.5]
    decided = None; rows = []
    for look in range(looks):
        if thompson:
            chosen = rng.random(2 * step) < weights[1]
            for i, arm in enumerate(arms):
                k = int(chosen.sum()) if i else int((~chosen).sum())
                arm.add(*bd._readers(rng, k, ctrs[i]), weights[i])
        else:
            for i, arm in enumerate(arms):
                arm.add(*bd._readers(rng, step, ctrs[i]), 0.5)
        mean, var, n, pl, nul = ipw_info(arms)
        z = mean / math.sqrt(var / n) if var > 0 else 0.0
        rows.append((n, n / var if var > 0 else 0.0, z, weights[1], pl, nul))
        if decided is None and all(a.impressions >= bd.MIN_SAMPLE for a in arms):
            r = sequential_test([a.readers_stats(str(i), True) for i, a in enumerate(arms)], alpha=bd.ALPHA,
                                minimum_detectable_effect=bd.MDE, tuning=tuning, adaptive=True, estimate=False)
            if r.winner_id == "1":
                decided = look
        if thompson:
            counts = [ArmCounts(str(i), a.impressions, a.clicks) for i, a in enumerate(arms)]
            w = thompson_weights(counts, floor=bd.FLOOR, min_sample=bd.WARMUP, draws=4000, seed=look)
            weights = [w["0"], w["1"]]
    return decided, rows

def main_info(n_exp, thompson):
    rng = np.random.default_rng(11)
    tuning = tuning_readers(alpha=bd.ALPHA, baseline_rate=bd.BASELINE, minimum_detectable_effect=bd.MDE)
    sd = math.sqrt(bd.MEAN_IMPRESSIONS * bd.CTR * (1 - bd.CTR) + bd.CTR**2)
    analytic = fixed_horizon_readers(bd.CTR * bd.LIFT * bd.MEAN_IMPRESSIONS, sd, alpha=bd.ALPHA)
    fraction, looks = (0.10, 150) if thompson else (0.05, 80)
    step = max(10, int(analytic * fraction / 2))
    crit = sps.norm.isf(bd.ALPHA / 2)
    stops, stop_info, all_rows = [], [], []
    for _ in range(n_exp):
        d, rows = run(rng, thompson, step, looks, tuning, (bd.CTR, bd.CTR * (1 + bd.LIFT)))
        all_rows.append(rows)
        stops.append(rows[d][0] if d is not None else math.inf)
        stop_info.append(rows[d][1] if d is not None else math.inf)
    readers = np.array([r[0] for r in all_rows[0]])
    info = np.array([[r[1] for r in rows] for rows in all_rows])
    power = np.mean(np.array([[r[2] > crit for r in rows] for rows in all_rows]), axis=0)
    fh = np.nonzero(power >= 0.8)[0][0]
    seq_readers = sorted(stops)[math.ceil(0.8 * n_exp) - 1]
    seq_info = sorted(stop_info)[math.ceil(0.8 * n_exp) - 1]
    fh_info = float(np.median(info[:, fh]))
    print(f"thompson={thompson} experiments={n_exp} step={step}")
    print(f"  fixed_horizon_readers={readers[fh]} median_information_there={fh_info:.1f}")
    print(f"  sequential_readers_80pct={seq_readers} information_80pct={seq_info:.1f}")
    print(f"  readers_ratio={seq_readers / readers[fh]:.3f} information_ratio={seq_info / fh_info:.3f}")
    # information per reader along the path, and weight of the better arm
    for frac in (0.25, 0.5, 1, 1.5, 2, 3):
        k = min(len(readers) - 1, round(fh * frac))
        w = np.median([rows[k][3] for rows in all_rows])
        nul_share = np.mean([rows[k][5] >= rows[k][4] for rows in all_rows])
        print(f"  at {frac:.2f}x fh ({readers[k]} readers): info/reader={np.median(info[:, k]) / readers[k]:.5f} "
              f"better-arm weight={w:.3f} null_variance_binds={nul_share:.2f}")

def main_centre(n_exp, seed):
    rng = np.random.default_rng(seed)
    tuning = tuning_readers(alpha=bd.ALPHA, baseline_rate=bd.BASELINE, minimum_detectable_effect=bd.MDE)
    m_eq = design_effect(tuning, alpha=bd.ALPHA)
    f = bd.FLOOR
    m_prod = m_eq * (1 + math.sqrt(4 * f * (1 - f))) / 2
    sd = math.sqrt(bd.MEAN_IMPRESSIONS * bd.CTR * (1 - bd.CTR) + bd.CTR**2)
    analytic = fixed_horizon_readers(bd.CTR * bd.LIFT * bd.MEAN_IMPRESSIONS, sd, alpha=bd.ALPHA)
    step = max(10, int(analytic * 0.10 / 2)); looks = 150
    variants = {"before(m*0.718,spread0.5)": (m_prod, WIDE),
                "m*0.718,spread0.1": (m_prod, SPREAD),
                "m*0.456,spread0.1": (m_eq * 0.456, SPREAD),
                "m*0.456,spread0.5": (m_eq * 0.456, WIDE),
                "product(m*sqrt(4f(1-f))=0.436,spread0.1)": (m_eq * math.sqrt(4 * f * (1 - f)), SPREAD)}
    stops = {k: [] for k in variants}
    aa_wins = {k: 0 for k in variants}
    crit = sps.norm.isf(bd.ALPHA / 2)
    power = np.zeros(looks); readers = None
    for e in range(n_exp):
        for aa in (False, True):
            ctrs = (bd.CTR, bd.CTR) if aa else (bd.CTR, bd.CTR * (1 + bd.LIFT))
            arms = [bd.Arm(), bd.Arm()]; weights = [0.5, 0.5]
            done = {k: None for k in variants}; rs = []
            n_looks = 50 if aa else looks
            batch = 500 if aa else step
            for look in range(n_looks):
                chosen = rng.random(2 * batch) < weights[1]
                for i, arm in enumerate(arms):
                    k = int(chosen.sum()) if i else int((~chosen).sum())
                    arm.add(*bd._readers(rng, k, ctrs[i]), weights[i])
                mean, var, n, _, _ = ipw_info(arms)
                z = mean / math.sqrt(var / n) if var > 0 else 0.0
                rs.append(n)
                if not aa:
                    power[look] += z > crit
                if all(a.impressions >= bd.MIN_SAMPLE for a in arms):
                    for name, (m, spread) in variants.items():
                        if done[name] is None and always_valid_p(abs(z), n, m, spread) < bd.ALPHA and (aa or z > 0):
                            done[name] = look
                counts = [ArmCounts(str(i), a.impressions, a.clicks) for i, a in enumerate(arms)]
                w = thompson_weights(counts, floor=bd.FLOOR, min_sample=bd.WARMUP, draws=4000, seed=look)
                weights = [w["0"], w["1"]]
                if aa and all(v is not None for v in done.values()):
                    break
            for name in variants:
                if aa:
                    aa_wins[name] += done[name] is not None
                else:
                    stops[name].append(rs[done[name]] if done[name] is not None else math.inf)
            if not aa:
                readers = rs
    power /= n_exp
    fh = readers[np.nonzero(power >= 0.8)[0][0]]
    print(f"experiments={n_exp} fixed_horizon_readers={fh}")
    for name in variants:
        s = sorted(stops[name])[math.ceil(0.8 * n_exp) - 1]
        print(f"  {name}: readers_ratio={s / fh:.3f} aa_false_winner_rate={aa_wins[name] / n_exp:.3f}")

if __name__ == "__main__":
    if sys.argv[1] == "info":
        main_info(int(sys.argv[2]), True)
    else:
        main_centre(int(sys.argv[2]), int(sys.argv[3]))
