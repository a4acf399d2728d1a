"""Which training recipe keeps a real model's spread on a brand's history? Recipes compared on one base.

The SmolLM2 loop's Brewhaus adapter narrows its copy (distinct-2 0.90 -> 0.66) and its gate now
refuses it. This trains one adapter per recipe on a simulated brand's imported history (the pairs
its past A/B tests yield: winner over each arm it beat at p < 0.05, prompts in the base model's
format), with the loop's real-base settings (simulate.REAL_BASE_*, SimConfig's beta and loss), then
samples the loop's briefs as the loop serves them (temperature 0.8, top-p 1, one line, the channel's
length) and prints per recipe, and for the base model alone in the same run:

- `distinct2_<recipe>`: distinct-2 of the sampled copy at 120 texts (simulation.metrics.distinct_n_at);
- `distinct2_ratio_<recipe>`: that over the base model's (the loop's floor is 0.8);
- `true_ctr_<recipe>`: the brand's audience's mean click probability of the sampled copy;
- `ctr_lift_<recipe>`: that over the base model's, minus one;
- `ended_rate_<recipe>`: share of samples that ended by themselves;
- `unique_rate_<recipe>`: share of distinct texts among the samples;
- `unsupported_rate_<recipe>`: share of the samples with a claim their brief's facts (simulation.offers,
  as the loop's briefs carry them) contradict or do not support: what the gate's `*_recent` check reads.

A recipe named `..._backed` also leaves out of the NLL term (imitate=False) every winner with a claim
that no fact backs (the history's briefs have none): it still teaches its preference through DPO.

It also prints `history_distinct2_winners` / `_all`: how diverse the copy the adapter learns from is.

    python bench/recipe_diversity.py --base var/models_store/base_models/smollm2-135m-instruct/content \
        [--brand Brewhaus] [--recipes rpo1,rpo0] [--threads 2]
"""
from __future__ import annotations

import argparse
import csv
import io
import math
import os
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from dataclasses import replace
from datetime import date
from pathlib import Path
from types import SimpleNamespace

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prefcontent.settings")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import django  # noqa: E402

django.setup()

import torch  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402

from ml.config import PreferenceExample, TrainConfig, TrainJob  # noqa: E402
from ml.prompts import Brief, format_of_model  # noqa: E402
from ml.serving import Engine, EngineConfig, GenerateRequest  # noqa: E402
from ml.serving.stops import ENDED  # noqa: E402
from ml.train import train_dpo  # noqa: E402
from prefcontent.content.claims import BriefFacts, check_claims, claim_problems  # noqa: E402
from prefcontent.preferences.prompting import channel_shape  # noqa: E402
from simulation.audience import default_brands  # noqa: E402
from simulation.history import history_csv  # noqa: E402
from simulation.loop import SimConfig  # noqa: E402
from simulation.management.commands.simulate import REAL_BASE_LEARNING_RATE, REAL_BASE_MAX_EPOCHS  # noqa: E402
from simulation.metrics import distinct_n_at, unsupported_claim_rate  # noqa: E402
from simulation.offers import brief_facts  # noqa: E402

LOOP = SimConfig()
TODAY = date(2026, 12, 4)  # the briefs' offer dates count from here (a fixed day: the same facts every run)
LOOP_RECIPE = {"beta": LOOP.beta, "loss_type": LOOP.loss_type, "label_smoothing": LOOP.label_smoothing,
               "lr": REAL_BASE_LEARNING_RATE, "epochs": min(LOOP.train_epochs, REAL_BASE_MAX_EPOCHS)}
RECIPES = {
    "rpo1": {"rpo_alpha": 1.0},  # the loop's recipe before the entropy floor
    "rpo0": {"rpo_alpha": 0.0},
    "rpo0.2": {"rpo_alpha": 0.2},
    "rpo0_lr1e-3": {"rpo_alpha": 0.0, "lr": 1e-3},
    "rpo1_beta1": {"rpo_alpha": 1.0, "beta": 1.0},
    "js_rpo1": {"rpo_alpha": 1.0, "f_divergence": "js_divergence"},
    "js_rpo0.2": {"rpo_alpha": 0.2, "f_divergence": "js_divergence"},
    "js_rpo0": {"rpo_alpha": 0.0, "f_divergence": "js_divergence"},
    "rpo1_ent1": {"rpo_alpha": 1.0, "entropy_floor": 1.0},  # simulate's REAL_BASE_ENTROPY_FLOOR
    "rpo1_ent1_backed": {"rpo_alpha": 1.0, "entropy_floor": 1.0},
    "rpo1_ent0.3": {"rpo_alpha": 1.0, "entropy_floor": 0.3},
}


def _significant(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """a's click rate above b's, two-proportion z-test at one-sided p < 0.025."""
    (ca, na), (cb, nb) = a, b
    pooled = (ca + cb) / (na + nb)
    se = math.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb)) or 1.0
    return (ca / na - cb / nb) / se > 1.96


def history_pairs(sim, fmt, *, tests: int, seed: int) -> tuple[list[PreferenceExample], list[str], list[str]]:
    rows = list(csv.DictReader(io.StringIO(history_csv(sim, tests=tests, seed=seed).decode())))
    by_test = defaultdict(list)
    for row in rows:
        by_test[row["test_id"]].append(row)
    pairs, winners, everything = [], [], []
    shape = channel_shape(sim.channel)
    for i, arms in enumerate(by_test.values()):
        arms.sort(key=lambda r: -int(r["clicks"]))
        winners.append(arms[0]["variant_text"])
        everything += [r["variant_text"] for r in arms]
        prompt = fmt.render(Brief(brand=sim.name, voice=sim.voice, channel=sim.channel, product=arms[0]["product"],
                                  audience="everyone", tone=arms[0]["tone"], shape=shape, rules=_rules(sim)))
        for a in range(len(arms)):
            for b in range(a + 1, len(arms)):
                stats = [(int(r["clicks"]), int(r["impressions"])) for r in (arms[a], arms[b])]
                if _significant(*stats):
                    chosen = arms[a]["variant_text"]
                    backed = not claim_problems(check_claims(chosen, BriefFacts(), product=arms[a]["product"]))
                    pairs.append(PreferenceExample(prompt, chosen, arms[b]["variant_text"],
                                                   split="holdout" if i % 4 == 3 else "train", imitate=backed))
    return pairs, winners, everything


def _rules(sim) -> tuple[str, ...]:
    """The brand's rules in the words prefcontent.preferences.prompting.rules_in_words gives them."""
    words = [f'Never write "{phrase}".' for phrase in sim.rules.get("banned_phrases", ())]
    if "max_discount_pct" in sim.rules:
        words.append(f"Never offer more than {sim.rules['max_discount_pct']:g}% off.")
    return tuple(words)


def sample(engine: Engine, fmt, sim, adapter: str | None, seed: int) -> tuple[list[str], list[str]]:
    """The loop's briefs (product x tone), 16 samples each (two requests of 8: the engine's cap), at the loop's temperature."""
    shape, futures = channel_shape(sim.channel), []
    for i in range(LOOP.briefs):
        product, tone = sim.products[i % len(sim.products)], sim.tones[i % len(sim.tones)]
        prompt = fmt.render(Brief(brand=sim.name, voice=sim.voice, channel=sim.channel, product=product,
                                  audience="everyone", tone=tone, shape=shape, rules=_rules(sim)))
        futures += [engine.submit(GenerateRequest(
            prompt=prompt, n=8, temperature=LOOP.temperature, top_p=1.0, max_new_tokens=LOOP.max_new_tokens,
            seed=seed * 1000 + 10 * i + k, one_line=shape.one_line, max_chars=shape.max_chars,
            adapter_id=adapter, adapter_path=adapter)) for k in range(2)]
    texts, reasons, facts = [], [], []
    for j, future in enumerate(futures):
        result = future.result()
        texts += result.texts
        reasons += result.finish_reasons
        i = j // 2
        brief = SimpleNamespace(facts=brief_facts(sim.name, i, TODAY), product=sim.products[i % len(sim.products)])
        facts += [brief] * len(result.texts)
    return texts, reasons, facts


def report(name: str, sim, texts: list[str], reasons: list[str], briefs: list, base: dict | None) -> dict:
    figures = {"distinct2": distinct_n_at(texts, LOOP.diversity_sample),
               "true_ctr": sum(sim.audience.click_probability(t) for t in texts) / len(texts),
               "ended_rate": sum(r in ENDED for r in reasons) / len(texts),
               "unique_rate": len(set(texts)) / len(texts),
               "unsupported_rate": unsupported_claim_rate(list(zip(texts, briefs)), TODAY)}
    for key, value in figures.items():
        print(f"{key}_{name}={value:.4f}")
    if base:
        print(f"distinct2_ratio_{name}={figures['distinct2'] / base['distinct2']:.3f}")
        print(f"ctr_lift_{name}={figures['true_ctr'] / base['true_ctr'] - 1:.3f}")
    for text in texts[:: max(1, len(texts) // 8)][:8]:
        print(f"# {name}: {text!r}", file=sys.stderr)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="base model directory")
    parser.add_argument("--brand", default="Brewhaus", choices=[b.name for b in default_brands()])
    parser.add_argument("--recipes", default="rpo1,rpo0", help=f"comma-separated, of {', '.join(RECIPES)}")
    parser.add_argument("--tests", type=int, default=LOOP.history_tests)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    hf_logging.disable_progress_bar()
    warnings.filterwarnings("ignore")
    sim = next(b for b in default_brands(args.seed) if b.name == args.brand)
    fmt = format_of_model(args.base)
    pairs, winners, everything = history_pairs(sim, fmt, tests=args.tests, seed=args.seed)
    print(f"recipe_base={args.base} brand={sim.name} pairs={len(pairs)} loop_recipe={LOOP_RECIPE}")
    print(f"history_distinct2_winners={distinct_n_at(winners, LOOP.diversity_sample):.4f}")
    print(f"history_distinct2_all={distinct_n_at(everything, LOOP.diversity_sample):.4f}")
    print(f"history_pairs_backed={sum(p.imitate for p in pairs) / len(pairs):.3f}")
    engine = Engine(args.base, EngineConfig())
    try:
        base = report("base", sim, *sample(engine, fmt, sim, None, args.seed), None)
        with tempfile.TemporaryDirectory() as tmp:
            for name in filter(None, args.recipes.split(",")):
                started = time.perf_counter()
                config = TrainConfig(batch_size=8, seed=args.seed, **{**LOOP_RECIPE, **RECIPES[name]})
                out = Path(tmp) / name
                examples = pairs if name.endswith("_backed") else [replace(p, imitate=True) for p in pairs]
                result = train_dpo(TrainJob(base_model_path=args.base, examples=tuple(examples), config=config,
                                            output_dir=str(out)))
                print(f"train_s_{name}={time.perf_counter() - started:.1f} steps_{name}={result.steps}")
                print(f"holdout_reward_accuracy_{name}={result.holdout.get('reward_accuracy', float('nan')):.3f}")
                report(name, sim, *sample(engine, fmt, sim, str(out), args.seed), base)
    finally:
        engine.close()


if __name__ == "__main__":
    main()
