"""Replay best_of's ranking on a finished simulation's adapter, offline, policy against policy.

    PREFCONTENT_VAR_DIR=<the run's var dir> python bench/rank_replay.py --seed 1 --version 3 \
        [--brand northpeak] [--pool 32] [--weights 0,1] [--diversities 2,3] [--windows 0,500]

The adapter the brand's round `--version` served samples `--pool` texts for each of the brand's
20 product x tone briefs (temperature 0.8, the same seeds for every policy); the product's own
checks drop duplicates; then every policy serves 8 of them per brief, briefs in turn, as the
generation worker does: the adapter's reward plus `weight` times the brand's test evidence
(prefcontent.generation.evidence, read from the run's database as it stood before that round's
jobs), kept apart by `diversity` from each other and from the brand's last `window` generated
variants (the policy's own earlier picks join them). Prints per policy the served texts' true CTR
under the brand's simulated audience (the allowed ones, as the loop's report), how many are
allowed, how many distinct and their distinct-2 at 120 texts (the report's measure), plus the
Spearman correlation of reward and of evidence with the true click probability over each brief's
allowed candidates, and the unranked first 8 as a baseline. The weight-0, window-0 policy at
diversity 2 is the ranking the loop used before the evidence.
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prefcontent.settings")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

TEMPERATURE, SERVED, MAX_NEW_TOKENS = 0.8, 8, 40


def floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brand", default="northpeak", help="the simulated brand's slug")
    parser.add_argument("--seed", type=int, required=True, help="the run's --seed (the audience depends on it)")
    parser.add_argument("--version", type=int, required=True, help="the adapter version to replay (1-3)")
    parser.add_argument("--pool", type=int, default=32, help="candidates sampled per brief (best_of)")
    parser.add_argument("--weights", type=floats, default=[0.0, 1.0], help="evidence weights to compare")
    parser.add_argument("--diversities", type=floats, default=[2.0, 3.0])
    parser.add_argument("--windows", type=lambda s: [int(x) for x in s.split(",")], default=[0, 500])
    args = parser.parse_args()
    import django

    django.setup()
    from scipy.stats import spearmanr

    from ml.serving.engine import Engine, EngineConfig
    from ml.serving.types import GenerateRequest, ScoreRequest
    from prefcontent.adapters.models import AdapterVersion
    from prefcontent.adapters.selectors import adapter_local_path
    from prefcontent.brands.compliance import check_text, compliance_rules_for
    from prefcontent.brands.models import Brand
    from prefcontent.generation.checks import check_outputs
    from prefcontent.generation.conf import generation_settings
    from prefcontent.generation.models import GenerationJob
    from prefcontent.generation.ranking import preference_scores, select_best_diverse
    from prefcontent.generation.selectors import brand_test_evidence, recent_generated_texts
    from prefcontent.preferences.prompting import render_prompt
    from simulation.audience import default_brands
    from simulation.metrics import distinct_n_at

    brand = Brand.objects.get(slug=args.brand)
    sim = next(s for s in default_brands(seed=args.seed) if s.name.lower() == args.brand)
    adapter = AdapterVersion.objects.filter(brand=brand, version=args.version).select_related("run").first()
    if adapter is None:
        sys.exit(f"{brand.name} has no adapter v{args.version}")
    first_job = GenerationJob.objects.filter(brand=brand, adapter_version=adapter).order_by("pk").first()
    if first_job is None:
        sys.exit(f"adapter v{args.version} served no round (the gate rejected it?)")
    rules = compliance_rules_for(brand)
    allowed = lambda text: check_text(rules, text, sim.channel).ok  # noqa: E731
    # The product's own reads, as the round's first job found the database: tests that had ended and
    # variants generated before then.
    evidence = brand_test_evidence(brand_id=brand.pk, rules=rules, channel=sim.channel, cfg=generation_settings(),
                                   ended_before=first_job.created_at)
    recent = recent_generated_texts(brand_id=brand.pk, limit=max(args.windows), created_before=first_job.created_at)
    path = str(adapter_local_path(adapter))
    beta = float(adapter.run.hyperparameters.get("beta", 0.3))
    engine = Engine(adapter.base_model_id, EngineConfig(max_adapters=1))
    cap = engine.config.caps.max_n
    policies = [(w, d, win) for w in args.weights for d in args.diversities for win in args.windows]
    served: dict[tuple, list[str]] = {p: [] for p in policies}
    seen = {p: list(recent[:p[2]]) for p in policies}
    unranked: list[str] = []
    correlations: dict[str, list[float]] = {"reward": [], "evidence": []}
    try:
        briefs = [(p, t) for p in sim.products for t in sim.tones]
        for b, (product, tone) in enumerate(briefs):
            prompt = render_prompt(brand=brand, brief=SimpleNamespace(product=product, audience="everyone", tone=tone),
                                   channel=sim.channel)
            texts: list[str] = []
            for k in range(0, args.pool, cap):
                texts += engine.submit(GenerateRequest(
                    prompt=prompt, n=min(cap, args.pool - k), temperature=TEMPERATURE, top_p=1.0,
                    max_new_tokens=MAX_NEW_TOKENS, seed=6161 + 7 * b + k, adapter_id="replay",
                    adapter_path=path)).result().texts
            unranked += texts[:SERVED]
            checked = check_outputs(list(enumerate(texts)), rules=rules, channel=sim.channel, mode="flag",
                                    dedup_threshold=0.9)
            candidates = [c.text for c in checked if c.usable]
            rewards: list[float] = []
            for k in range(0, len(candidates), engine.config.caps.max_candidates):
                rewards += engine.submit(ScoreRequest(
                    prompt=prompt, candidates=candidates[k:k + engine.config.caps.max_candidates],
                    adapter_id="replay", adapter_path=path, beta=beta)).result().scores
            ev = [evidence.standardized_rate(evidence.predict(t)) for t in candidates]
            truth = [sim.audience.click_probability(t) for t in candidates]
            keep = [i for i, t in enumerate(candidates) if allowed(t)]
            for name, values in (("reward", rewards), ("evidence", ev)):
                if len(keep) > 2:
                    rho = float(spearmanr([values[i] for i in keep], [truth[i] for i in keep]).correlation)
                    if not math.isnan(rho):  # NaN when a brief's values are all equal
                        correlations[name].append(rho)
            for policy in policies:
                weight, diversity, window = policy
                order = select_best_diverse(candidates, preference_scores(rewards, ev, evidence_weight=weight),
                                            SERVED, diversity=diversity, seen=seen[policy])
                picks = [candidates[i] for i in order]
                served[policy] += picks
                if window:
                    seen[policy] = (picks + seen[policy])[:window]
    finally:
        engine.close()

    def line(name: str, texts: list[str]) -> str:
        ok = [t for t in texts if allowed(t)]
        return (f"{name} true_ctr={sim.audience.true_ctr(ok):.5f} allowed={len(ok)}/{len(texts)} "
                f"distinct={len(set(texts))} distinct2_at120={distinct_n_at(texts, 120, seed=1):.3f}")

    print(f"tested_variants={len(evidence.tested)} mean_rate={evidence.mean_rate:.4f} recent_generated={len(recent)}")
    for name, values in correlations.items():
        print(f"spearman_{name}={statistics.fmean(values):.3f}" if values else f"spearman_{name}=nan")
    print(line("unranked_first8", unranked))
    for (weight, diversity, window), texts in served.items():
        print(line(f"rank weight={weight:g} diversity={diversity:g} window={window}", texts))


if __name__ == "__main__":
    main()
