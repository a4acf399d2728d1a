"""Retrain one training step of a finished simulation offline, with other settings, and score the copy.

    PREFCONTENT_VAR_DIR=<the run's var dir> python bench/sim_replay.py --seed 1 --round 1 \
        [--brand northpeak] [--hp '{"beta": 0.1}'] [--live-weight 3] [--imitate-once] \
        [--continue-previous all|new] [--base-only]

A closed-loop run (`manage.py simulate --quick`) takes 8-15 minutes and its lift moves by about
±0.04 from seed to seed, so telling two training ideas apart takes many runs. This replays one
step in 1-2 minutes instead: it reads the snapshot that the brand's round-R training run used from
the run's own database, trains a fresh adapter on it through the product's training facade (the
run's hyperparameters, changed by --hp), samples 16 texts for each of the brand's 20
product x tone briefs (temperature 0.8, no ranking), and scores them under the brand's simulated
audience (--seed must be the run's). Prints name=value lines: `true_ctr` of the texts the brand's
rules allow, `valid_rate`, `violation_rate`, `distinct_texts` and the share of allowed texts with
each feature. One step, no ranking, no feedback: a screen for ideas, not a substitute for the loop.

Variants of the training data:
- `--live-weight W` multiplies the weight of pairs from live experiments (the loop's own, not the
  imported history);
- `--imitate-once` keeps the NLL term (`rpo_alpha`) on one pair per distinct (prompt, chosen): a
  4-arm test's winner is otherwise imitated three times over;
- `--continue-previous all|new` trains from the brand's previous run's adapter (also the
  reference model) on all the pairs, or on the pairs new since that run's snapshot.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prefcontent.settings")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

TEMPERATURE, SAMPLES, MAX_NEW_TOKENS = 0.8, 16, 40
FEATURES = ("discount", "urgency", "question", "emoji", "short", "product_named")


def training_examples(run, args) -> tuple[list, Path | None]:
    """The examples of `run`'s snapshot, changed as `args` say, and the adapter to continue (or None)."""
    from prefcontent.adapters.models import AdapterVersion
    from prefcontent.adapters.selectors import adapter_local_path
    from prefcontent.experiments.models import Experiment
    from prefcontent.preferences.selectors import snapshot_examples
    from prefcontent.training.models import TrainingRun

    examples = snapshot_examples(run.snapshot)
    rows = list(run.snapshot.rows.order_by("id").values_list("experiment_id", "pair_hash"))
    if args.live_weight != 1.0:
        live = set(Experiment.objects.filter(pk__in={e for e, _ in rows}, source="live").values_list("pk", flat=True))
        examples = [dataclasses.replace(ex, weight=ex.weight * (args.live_weight if e in live else 1.0))
                    for ex, (e, _) in zip(examples, rows, strict=True)]
    if args.imitate_once:
        seen: set[tuple[str, str]] = set()
        kept = []
        for ex in examples:
            key = (ex.prompt, ex.chosen)
            repeat = ex.split == "train" and ex.imitate and key in seen
            if ex.split == "train" and ex.imitate:
                seen.add(key)
            kept.append(dataclasses.replace(ex, imitate=False) if repeat else ex)
        examples = kept
    parent = None
    if args.continue_previous:
        previous = TrainingRun.objects.filter(brand=run.brand, pk__lt=run.pk).order_by("-pk").first()
        if previous is None:
            sys.exit("--continue-previous: this is the brand's first training run")
        adapter = AdapterVersion.objects.filter(run=previous).first()
        if adapter is None:
            sys.exit(f"--continue-previous: training run {previous.pk} published no adapter ({previous.state})")
        parent = adapter_local_path(adapter)
        if args.continue_previous == "new":
            old = set(previous.snapshot.rows.values_list("pair_hash", flat=True))
            examples = [ex for ex, (_, h) in zip(examples, rows, strict=True) if h not in old]
    return examples, parent


def sample(base_model: str, adapter_dir: str | None, prompts: list[str]) -> list[str]:
    from ml.serving.engine import Engine, EngineConfig
    from ml.serving.types import GenerateRequest

    engine = Engine(base_model, EngineConfig(max_adapters=1))
    try:
        per_request = engine.config.caps.max_n
        requests = [(p, k) for p in prompts for k in range(0, SAMPLES, per_request)]
        futures = [engine.submit(GenerateRequest(
            prompt=p, n=min(per_request, SAMPLES - k), temperature=TEMPERATURE, top_p=1.0,
            max_new_tokens=MAX_NEW_TOKENS, seed=7000 + i, adapter_id="replay" if adapter_dir else None,
            adapter_path=adapter_dir)) for i, (p, k) in enumerate(requests)]
        return [text for f in futures for text in f.result().texts]
    finally:
        engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brand", default="northpeak", help="the simulated brand's slug")
    parser.add_argument("--round", type=int, required=True, help="replay the training before this round (1-3)")
    parser.add_argument("--seed", type=int, required=True, help="the run's --seed (the audience depends on it)")
    parser.add_argument("--hp", default="{}", help="JSON hyperparameters overriding the run's")
    parser.add_argument("--live-weight", type=float, default=1.0)
    parser.add_argument("--imitate-once", action="store_true")
    parser.add_argument("--continue-previous", choices=["all", "new"])
    parser.add_argument("--base-only", action="store_true", help="score the base model's copy; train nothing")
    args = parser.parse_args()
    import django

    django.setup()
    from types import SimpleNamespace

    from prefcontent.brands.compliance import check_text, compliance_rules_for
    from prefcontent.brands.models import Brand
    from prefcontent.content.wellformed import is_well_formed
    from prefcontent.preferences.prompting import render_prompt
    from prefcontent.training import facade
    from prefcontent.training.models import TrainingRun
    from simulation.audience import default_brands, feature_vector

    brand = Brand.objects.get(slug=args.brand)
    sim = next(s for s in default_brands(seed=args.seed) if s.name.lower() == args.brand)
    runs = list(TrainingRun.objects.filter(brand=brand).select_related("snapshot").order_by("pk"))
    if not 1 <= args.round <= len(runs):
        sys.exit(f"{brand.name} has {len(runs)} training runs; --round must be 1 to {len(runs)}")
    run = runs[args.round - 1]
    examples, parent = training_examples(run, args)
    with tempfile.TemporaryDirectory() as tmp:
        adapter_dir = None
        if not args.base_only:
            job = facade.train_job(base_model_path=run.base_model_id, examples=examples,
                                   hyperparameters={**run.hyperparameters, **json.loads(args.hp)},
                                   output_dir=Path(tmp) / "adapter", checkpoint_dir=Path(tmp) / "checkpoints",
                                   parent_adapter_dir=parent,
                                   resume=False)
            adapter_dir = facade.run_training(job, progress=lambda record: None, should_cancel=lambda: False).adapter_dir
        prompts = [render_prompt(brand=brand, brief=SimpleNamespace(product=p, audience="everyone", tone=t),
                                 channel=sim.channel) for p in sim.products for t in sim.tones]
        texts = sample(run.base_model_id, adapter_dir, prompts)
    rules = compliance_rules_for(brand)
    formed = [is_well_formed(t, sim.channel) for t in texts]
    allowed = [t for t, ok in zip(texts, formed) if ok and check_text(rules, t, sim.channel).ok]
    print(f"pairs={len(examples)}")
    print(f"train_pairs={sum(e.split == 'train' for e in examples)}")
    print(f"true_ctr={sim.audience.true_ctr(allowed):.5f}")
    print(f"valid_rate={sum(formed) / len(texts):.3f}")
    print(f"violation_rate={sum(1 for t in texts if not check_text(rules, t, sim.channel).ok) / len(texts):.3f}")
    print(f"distinct_texts={len(set(allowed))}")
    for name in FEATURES:
        print(f"share_{name}={sum(1 for t in allowed if feature_vector(t, sim.products)[name] > 0) / max(1, len(allowed)):.3f}")


if __name__ == "__main__":
    main()
