"""Coverage of the lift report's interval, through the real assignment, ingestion and report code.

A synthetic audience with a known true lift replaces the closed loop's generation and training
(which this machine cannot run over 5 seeds in the time at hand; `manage.py simulate` records the
same four figures per round when it does run). Per seed and round: a throwaway test database's brand
(5 % holdout, the product default) runs `--experiments` experiments, each with a human-written control
and three arms marked as adapter copy (provenance only: no adapter is trained), whose true click
probabilities are the control's times exp(round lift + experiment effect + arm effect); the round's
lift decays from +30 % to 0 over the rounds, so later rounds test the interval around no lift.
Readers go through `assignment_for_unit` (the holdout included) and their impressions and clicks
through `events_ingest` (simulation.traffic.send_traffic); after each experiment's traffic the lift
report is read over the round's experiments so far (a look), and compared with the true lift of the
readers served so far (simulation.lift.true_lift).

Prints per round: measured_lift [low, high] and true_lift at the round's last look; then
`lift_coverage` (share of rounds whose last look covers the truth; floor 0.90) and
`lift_coverage_watched` (share of rounds covered at every look), beside the baseline measured on the
same data in the same run: a fixed-look Poisson interval for the rate ratio, readers independent and
experiments ignored (`naive_coverage`, `naive_coverage_watched`), and both intervals' median widths.

    python bench/holdout_lift.py [--quick] [--seeds 5] [--rounds 6]
    python bench/holdout_lift.py --reports var/sim/seed*/report.json

--reports: no harness; the same per-round lines and `lift_coverage` read off closed-loop reports of
`manage.py simulate` (every brand's every round).

--quick: 4 rounds of 6 experiments of 600 readers per seed.
"""
from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prefcontent.settings")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import django  # noqa: E402

django.setup()

from django.test.utils import get_runner, setup_test_environment  # noqa: E402

ADAPTER_ARMS = 3
FIRST_LIFT = 0.3
EXPERIMENT_SD = 0.15  # experiments' own log-lift around the round's
ARM_SD = 0.1


class SyntheticAudience:
    """Click probability per text, fixed when the text is made (what the audience model knows)."""

    def __init__(self) -> None:
        self.p: dict[str, float] = {}

    def click_probability(self, text: str) -> float:
        return self.p[text]


def _brand(seed: int):
    from prefcontent.accounts.models import ApiKey
    from prefcontent.accounts.services import api_key_create
    from prefcontent.brands.models import Brand
    from prefcontent.tenancy.principal import principal_for_api_key, principal_for_user
    from simulation.loop import simulation_owner

    org, owner = simulation_owner(f"lift-bench-{seed}", watcher="")
    principal = principal_for_user(owner)
    brand = Brand.objects.create(organization=org, name=f"Lift {seed}", slug=f"lift-{seed}")
    issued = api_key_create(principal=principal, brand=brand, name="bench", scopes=["assign", "events:write"])
    key = principal_for_api_key(ApiKey.objects.select_related("brand").get(pk=issued.api_key.pk))
    return brand, principal, key


def _experiment(brand, principal, audience, rng: random.Random, tag: str, round_lift: float):
    from prefcontent.content.services import variant_create
    from prefcontent.experiments.services import ArmSpec, experiment_create, experiment_transition

    control_p = rng.uniform(0.02, 0.05)
    effect = math.log1p(round_lift) + rng.gauss(0.0, EXPERIMENT_SD)
    specs = []
    for arm in range(ADAPTER_ARMS + 1):
        text = f"{tag} arm {arm}"
        human = arm == 0
        audience.p[text] = control_p if human else min(0.5, control_p * math.exp(effect + rng.gauss(0.0, ARM_SD)))
        variant = variant_create(principal=principal, brand=brand, text=text, source="human" if human else "generated",
                                 adapter_version_id=None if human else 1)
        specs.append(ArmSpec(variant=variant, is_control=human))
    experiment = experiment_create(principal=principal, brand=brand, name=tag, arms=specs)
    return experiment_transition(principal=principal, experiment=experiment, action="start")


def _naive(measured: dict) -> tuple[float, float] | None:
    """Fixed-look interval for a ratio of Poisson rates: log ratio +- 1.96 sqrt(1/clicks_T + 1/clicks_H)."""
    if measured["lift"] is None:
        return None
    clicks_t = measured["treated_rate"] * measured["treated_readers"]
    clicks_h = measured["holdout_rate"] * measured["holdout_readers"]
    theta, se = math.log1p(measured["lift"]), math.sqrt(1 / clicks_t + 1 / clicks_h)
    return math.exp(theta - 1.96 * se) - 1, math.exp(theta + 1.96 * se) - 1


def _covers(low, high, truth) -> bool:
    return low is not None and truth is not None and low <= truth <= high


def run_round(brand, principal, key, *, seed: int, round_no: int, rounds: int, experiments: int, readers: int,
              views: int) -> dict:
    from django.utils import timezone

    from simulation.lift import measured_lift, true_lift
    from simulation.traffic import send_traffic

    rng = random.Random(seed * 1000 + round_no)
    audience = SyntheticAudience()
    round_lift = FIRST_LIFT * (1 - round_no / max(rounds - 1, 1))
    since = timezone.now()
    ids, looks = [], []
    for e in range(experiments):
        experiment = _experiment(brand, principal, audience, rng, f"s{seed} r{round_no} e{e}", round_lift)
        send_traffic(key_principal=key, experiment_id=experiment.pk, audience=audience, units=readers,
                     views_per_unit=views, rng=rng)
        ids.append(experiment.pk)
        measured = measured_lift(brand, ids, since)
        truth = true_lift(ids, audience.click_probability)
        looks.append((measured, truth, _naive(measured)))
    measured, truth, naive = looks[-1]
    return {
        "round": round_no, "measured_lift": measured["lift"], "measured_lift_low": measured["low"],
        "measured_lift_high": measured["high"], "true_lift": truth,
        "covered": _covers(measured["low"], measured["high"], truth),
        "covered_watched": all(_covers(m["low"], m["high"], t) for m, t, _ in looks),
        "naive_covered": naive is not None and _covers(*naive, truth),
        "naive_covered_watched": all(n is not None and _covers(*n, t) for _, t, n in looks),
        "width": measured["high"] - measured["low"] if measured["low"] is not None else None,
        "naive_width": naive[1] - naive[0] if naive else None,
    }


def summarise_reports(paths: list[Path]) -> None:
    """Per round measured vs true lift from `manage.py simulate` reports, and the share covered."""
    import json

    rounds = []
    for path in paths:
        report = json.loads(path.read_text())
        for brand, entry in report["brands"].items():
            for r in entry["rounds"]:
                covered = _covers(r.get("measured_lift_low"), r.get("measured_lift_high"), r.get("true_lift"))
                rounds.append(covered)
                figures = " ".join(f"{k}={'n/a' if r.get(k) is None else format(r[k], '+.3f')}"
                                   for k in ("measured_lift", "measured_lift_low", "measured_lift_high", "true_lift"))
                print(f"seed={report['config']['seed']} brand={brand} round={r['round']} {figures} "
                      f"covered={int(covered)}")
    print(f"rounds={len(rounds)}")
    print(f"lift_coverage={sum(rounds) / len(rounds):.3f}")


def main() -> None:
    if "--reports" in sys.argv:
        summarise_reports([Path(p) for p in sys.argv[sys.argv.index("--reports") + 1:]])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 rounds of 6 experiments of 600 readers per seed")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=None, help="rounds per seed (default 6, quick 4)")
    parser.add_argument("--experiments", type=int, default=None, help="experiments per round (default 8, quick 6)")
    parser.add_argument("--readers", type=int, default=None, help="readers per experiment (default 1000, quick 600)")
    parser.add_argument("--views", type=int, default=8, help="impressions per reader")
    args = parser.parse_args()
    rounds = args.rounds or (4 if args.quick else 6)
    experiments = args.experiments or (6 if args.quick else 8)
    readers = args.readers or (600 if args.quick else 1000)

    setup_test_environment()
    runner = get_runner(django.conf.settings)(verbosity=0, interactive=False)
    old_config = runner.setup_databases()
    started = time.perf_counter()
    results = []
    try:
        for seed in range(args.seeds):
            brand, principal, key = _brand(seed)
            for round_no in range(rounds):
                r = run_round(brand, principal, key, seed=seed, round_no=round_no, rounds=rounds,
                              experiments=experiments, readers=readers, views=args.views)
                results.append(r)
                print(f"seed={seed} round={round_no} measured_lift={r['measured_lift']:+.3f} "
                      f"[{r['measured_lift_low']:+.3f}, {r['measured_lift_high']:+.3f}] true_lift={r['true_lift']:+.3f} "
                      f"covered={int(r['covered'])} covered_every_look={int(r['covered_watched'])}", flush=True)
    finally:
        runner.teardown_databases(old_config)
    n = len(results)
    print(f"rounds={n}")
    print(f"looks_per_round={experiments}")
    print(f"lift_coverage={sum(r['covered'] for r in results) / n:.3f}")
    print(f"lift_coverage_watched={sum(r['covered_watched'] for r in results) / n:.3f}")
    print(f"naive_coverage={sum(r['naive_covered'] for r in results) / n:.3f}")
    print(f"naive_coverage_watched={sum(r['naive_covered_watched'] for r in results) / n:.3f}")
    print(f"lift_interval_median_width={statistics.median(r['width'] for r in results if r['width'] is not None):.3f}")
    print(f"naive_interval_median_width={statistics.median(r['naive_width'] for r in results if r['naive_width']):.3f}")
    print(f"bench_s={time.perf_counter() - started:.0f}")


if __name__ == "__main__":
    main()
