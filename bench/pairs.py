"""Building preference pairs in bulk, and importing past tests.

Creates a throwaway test database (DATABASE_URL's server, `test_` prefix), a brand with
compliance rules, and 10,000 concluded experiments with 2 to 5 arms and decisions (bulk
inserts, not timed), then times `pairs_build` over all of them in batches of 1,000:
`pairs_build_s` and `pairs_per_s` (floor: under 30 s, target under 10 s), and this process's
CPU time (`*_cpu_s`), which a busy shared machine inflates less than the wall clock. The baseline,
measured in the same run, is the same service called once per experiment on a sample
(`baseline_one_by_one_pairs_per_s`), i.e. what a per-experiment task loop would reach.
Then it imports a generated history file of 100,000 rows through `history_import`
(parse, validate, write, decide, build pairs): `history_import_rows`, `history_import_s`.

    DATABASE_URL=postgres://... python bench/pairs.py [--quick]

--quick: 1,000 experiments, 10,000 import rows (under a minute).
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prefcontent.settings")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import django

django.setup()

from django.test.utils import get_runner, setup_test_environment

WORDS = ("fresh", "kicks", "run", "shop", "now", "today", "bold", "comfort", "miles", "trail", "light", "sale",
         "new", "season", "colours", "fit", "daily", "speed", "grip", "soft", "ready", "go", "your", "best")


def sentence(rng: random.Random) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 10))).capitalize()
    if rng.random() < 0.3:
        text += f" {rng.choice([10, 20, 30, 40, 50])}% off"
    return text + rng.choice([".", "!", "?", ""])


def seed_experiments(brand, n: int, rng: random.Random) -> list[int]:
    from prefcontent.content.hashing import content_hash
    from prefcontent.content.models import Brief, Campaign, Variant
    from prefcontent.experiments.models import Arm, Decision, Experiment

    campaign = Campaign.objects.create(brand=brand, name="Bench", channel="headline")
    briefs = Brief.objects.bulk_create([Brief(brand=brand, campaign=campaign, title=f"Brief {i}",
                                              product=rng.choice(["running shoes", "trail sneakers", "socks"]),
                                              audience="runners", tone="playful") for i in range(100)])
    experiments = Experiment.objects.bulk_create(
        [Experiment(brand=brand, campaign=campaign, brief=rng.choice(briefs), name=f"bench {i}", status="concluded",
                    min_sample_per_arm=1000) for i in range(n)], batch_size=2000)
    arm_specs = []
    for experiment in experiments:
        k = rng.randint(2, 5)
        base = rng.uniform(0.02, 0.08)
        for j in range(k):
            text = f"{sentence(rng)} #{experiment.pk}.{j}"
            impressions = rng.randint(3000, 3100)
            rate = base * (1.6 if j == 1 else rng.uniform(0.85, 1.1))
            arm_specs.append((experiment, j, text, impressions, int(impressions * rate)))
    variants = Variant.objects.bulk_create(
        [Variant(brand=brand, brief=e.brief, campaign=campaign, text=t, content_hash=content_hash(t))
         for e, _, t, _, _ in arm_specs], batch_size=2000)
    arms = Arm.objects.bulk_create(
        [Arm(experiment=e, variant=v, is_control=j == 0, weight=0.25, impressions=imp, clicks=clicks)
         for (e, j, _, imp, clicks), v in zip(arm_specs, variants, strict=True)], batch_size=2000)
    by_experiment: dict[int, list] = {}
    for arm in arms:
        by_experiment.setdefault(arm.experiment_id, []).append(arm)
    decisions = []
    for experiment in experiments:
        group = by_experiment[experiment.pk]
        winner = group[1]
        analysis = {"arms": [{"arm_id": str(a.pk), "trials": a.impressions, "successes": a.clicks} for a in group],
                    "srm_flag": False, "srm_p_value": 0.5, "min_sample": 1000, "winner_id": str(winner.pk)}
        decisions.append(Decision(experiment=experiment, outcome="winner", winner_arm=winner, reason="bench",
                                  evidence={"analysis": analysis}, decided_by="system"))
    Decision.objects.bulk_create(decisions, batch_size=2000)
    return [e.pk for e in experiments]


def history_file(rows: int, rng: random.Random) -> bytes:
    lines = ["test_id,variant_text,impressions,clicks,conversions,started_at,brief,channel"]
    test = 0
    while len(lines) - 1 < rows:
        test += 1
        k = min(rng.randint(2, 5), rows - (len(lines) - 1))
        if k < 2:
            break
        base = rng.uniform(0.02, 0.08)
        planned = rng.randint(2000, 8000)  # an even split, as the tests were run
        for j in range(k):
            impressions = planned + rng.randint(-30, 30)
            clicks = int(impressions * base * (1.5 if j == 1 else rng.uniform(0.9, 1.1)))
            lines.append(f"h{test},\"{sentence(rng)} v{j}\",{impressions},{clicks},{clicks // 10},2023-05-01,"
                         f"Spring brief {test % 50},headline")
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="1,000 experiments and 10,000 import rows")
    args = parser.parse_args()
    n = 1000 if args.quick else 10_000
    import_rows = 10_000 if args.quick else 100_000
    rng = random.Random(0)

    setup_test_environment()
    runner = get_runner(django.conf.settings)(verbosity=0, interactive=False)
    old_config = runner.setup_databases()
    try:
        from prefcontent.brands.compliance_models import ComplianceRule
        from prefcontent.preferences.building import pairs_build
        from prefcontent.preferences.history_import import history_import
        from prefcontent.preferences.models import PreferencePair
        from prefcontent.tenancy.principal import SYSTEM
        from tests.factories import BrandFactory

        brand = BrandFactory()
        ComplianceRule.objects.create(brand=brand, kind="max_discount", limit=30)
        ComplianceRule.objects.create(brand=brand, kind="banned_phrase", pattern="best")
        ComplianceRule.objects.create(brand=brand, kind="max_length", limit=90)
        ids = seed_experiments(brand, n, rng)
        print(f"experiments={n}")

        sample = ids[:100]
        start = time.perf_counter()
        one_by_one = sum(pairs_build(experiment_ids=[pk]).pairs for pk in sample)
        baseline_s = time.perf_counter() - start
        print(f"baseline_one_by_one_pairs_per_s={one_by_one / baseline_s:.0f}")

        rest = ids[100:]
        start, cpu = time.perf_counter(), time.process_time()
        built = 0
        for i in range(0, len(rest), 1000):
            built += pairs_build(experiment_ids=rest[i : i + 1000]).pairs
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        # scale to all n experiments at the measured bulk rate (the first 100 went one by one above)
        pairs_build_s = elapsed * n / len(rest)
        print(f"pairs_built={built}")
        print(f"pairs_active={PreferencePair.objects.filter(status='active').count()}")
        print(f"pairs_build_s={pairs_build_s:.2f}")
        print(f"pairs_build_cpu_s={cpu * n / len(rest):.2f}")  # this process only; the database works too
        print(f"pairs_per_s={built / elapsed:.0f}")
        print(f"bulk_vs_one_by_one_speedup={(built / elapsed) / (one_by_one / baseline_s):.1f}")

        data = history_file(import_rows, rng)
        target = BrandFactory()
        start, cpu = time.perf_counter(), time.process_time()
        outcome = history_import(principal=SYSTEM, brand=target, data=data, filename="bench.csv")
        import_s, cpu = time.perf_counter() - start, time.process_time() - cpu
        print(f"history_import_rows={outcome.report['rows']}")
        print(f"history_import_tests={outcome.report['tests']}")
        print(f"history_import_pairs={outcome.report['pairs']}")
        print(f"history_import_s={import_s:.2f}")
        print(f"history_import_cpu_s={cpu:.2f}")
    finally:
        runner.teardown_databases(old_config)


if __name__ == "__main__":
    main()
