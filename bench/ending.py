"""Does a trained real model end its copy by itself? Training recipes compared on one base model.

For each recipe: a LoRA DPO run on marketing pairs whose prompts are rendered for the base model
(ml.prompts: its chat template when it has one), then 8 headlines for each of 8 briefs from the
serving engine with the headline channel's stop rules (one line, 100 characters), each with the
length budget (ml.serving.stops.end_bias, the product's default) and, as the baseline in the same
run, without it (`_nobudget`). Prints, per recipe and for the base model alone:

- `ended_rate_<recipe>`: share of samples that ended by themselves (end-of-turn/EOS or the line's
  end), not by the token budget or the character limit;
- `eos_rate_<recipe>`: share that ended with the end-of-turn/EOS token itself;
- `p_end_<recipe>`: mean probability of the end token right after a held-out winning text;
- `well_formed_<recipe>`: share of non-empty one-liners within the limit, without chat markup, ended;
- `cut_rate_<recipe>`: share cut at the character limit; `mean_chars_<recipe>`: mean served length.

    python bench/ending.py --base /path/to/SmolLM2-135M-Instruct [--recipes default,rpo1_lr5e-4] [--pairs 64]
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from transformers.utils import logging as hf_logging

from ml.adapters import load_base_model, load_tokenizer
from ml.config import PreferenceExample, TrainConfig, TrainJob
from ml.data import Codec
from ml.prompts import Brief, ChannelShape, format_of_model
from ml.serving import Engine, EngineConfig, GenerateRequest
from ml.serving.stops import ENDED
from ml.train import train_dpo

HEADLINE = ChannelShape(one_line=True, max_chars=100, words="a headline")  # as prefcontent.content.channels has it

RECIPES = {
    "default": {},
    "rpo1": {"rpo_alpha": 1.0},
    "lr5e-4": {"lr": 5e-4},
    "rpo1_lr5e-4": {"rpo_alpha": 1.0, "lr": 5e-4},
    "rpo1_lr2e-4": {"rpo_alpha": 1.0, "lr": 2e-4},
}
BRANDS = [("Northpeak", "bold and energetic", "runners"), ("Brewhaus", "playful and warm", "coffee lovers"),
          ("Lumen", "calm and premium", "creators"), ("Tidewell", "friendly and concise", "travelers")]
PRODUCTS = ["running shoes", "cold brew", "desk lamps", "rain jackets", "yoga mats", "scented candles",
            "wireless headphones", "backpacks"]
WINNERS = ["Save {pct}% on {product} today only", "{Product} for {audience}: {pct}% off until Sunday",
           "Last chance: {pct}% off {product}", "Your new {product} are here. Shop now",
           "Get {pct}% off {product} this weekend"]
LOSERS = ["Discover our {product}", "We have {product}", "{Product} are available in our store",
          "Check out the {product} collection", "Our {product}, now in stock"]


def make_pairs(fmt, n: int, seed: int) -> list[PreferenceExample]:
    rng = random.Random(seed)
    pairs = []
    for i in range(n):
        brand, voice, audience = BRANDS[i % len(BRANDS)]
        product = rng.choice(PRODUCTS)
        prompt = fmt.render(Brief(brand=brand, voice=voice, channel="headline", product=product, audience=audience,
                                  tone=rng.choice(["urgent", "value", "playful"])))
        slots = {"pct": rng.choice([10, 15, 20, 25, 30]), "product": product, "Product": product.capitalize(),
                 "audience": audience}
        pairs.append(PreferenceExample(prompt, rng.choice(WINNERS).format(**slots), rng.choice(LOSERS).format(**slots),
                                       split="train" if i < n - 8 else "holdout"))
    return pairs


@torch.no_grad()
def p_end(base: str, adapter: str | None, pairs: list[PreferenceExample]) -> float:
    """Mean probability of the completion's end token right after each winning text."""
    from peft import PeftModel

    tokenizer = load_tokenizer(base)
    codec = Codec.of(tokenizer)
    model = load_base_model(base, torch.device("cpu"))
    if adapter:
        model = PeftModel.from_pretrained(model, adapter)
    model.eval()
    probs = []
    for pair in pairs:
        ids = codec.prompt(pair.prompt) + codec.completion(pair.chosen, end=False)
        logits = model(input_ids=torch.tensor([ids])).logits[0, -1].float()
        probs.append(float(torch.softmax(logits, -1)[codec.end_id]))
    return sum(probs) / len(probs)


def sample(engine: Engine, fmt, adapter: str | None, seed: int, budget: bool = True) -> tuple[list[str], list[str]]:
    shape = HEADLINE
    texts, reasons = [], []
    futures = []
    for b in range(8):
        brand, voice, audience = BRANDS[b % len(BRANDS)]
        prompt = fmt.render(Brief(brand=brand, voice=voice, channel="headline", product=PRODUCTS[b],
                                  audience=audience, tone="urgent", shape=HEADLINE))
        futures.append(engine.submit(GenerateRequest(
            prompt=prompt, n=8, temperature=1.0, top_p=0.95, max_new_tokens=48, seed=seed + b,
            one_line=shape.one_line, max_chars=shape.max_chars, length_budget=budget,
            adapter_id=adapter, adapter_path=adapter)))
    for future in futures:
        result = future.result()
        texts += result.texts
        reasons += result.finish_reasons
    return texts, reasons


def well_formed(text: str, reason: str) -> bool:
    return bool(text) and reason in ENDED and "\n" not in text and len(text) <= HEADLINE.max_chars and "<|" not in text


def report(name: str, texts: list[str], reasons: list[str], pend: float) -> None:
    n = len(texts)
    print(f"ended_rate_{name}={sum(r in ENDED for r in reasons) / n:.3f}")
    print(f"eos_rate_{name}={sum(r == 'stop' for r in reasons) / n:.3f}")
    print(f"p_end_{name}={pend:.3f}")
    print(f"well_formed_{name}={sum(well_formed(t, r) for t, r in zip(texts, reasons)) / n:.3f}")
    print(f"cut_rate_{name}={sum(r == 'max_chars' for r in reasons) / n:.3f}")
    print(f"mean_chars_{name}={sum(len(t) for t in texts) / n:.1f}")
    for text, reason in list(zip(texts, reasons))[:: max(1, n // 10)][:10]:
        print(f"# {name} [{reason}] {text!r}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="base model directory")
    parser.add_argument("--recipes", default="default,rpo1_lr5e-4", help="comma-separated; '' for the base only")
    parser.add_argument("--pairs", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    hf_logging.disable_progress_bar()
    warnings.filterwarnings("ignore")
    fmt = format_of_model(args.base)
    pairs = make_pairs(fmt, args.pairs, args.seed)
    holdout = [p for p in pairs if p.split == "holdout"]
    print(f"ending_base={args.base}")
    print(f"ending_prompt_version={fmt.version}")
    engine = Engine(args.base, EngineConfig())
    try:
        base_p_end = p_end(args.base, None, holdout)
        report("base_nobudget", *sample(engine, fmt, None, args.seed, budget=False), base_p_end)
        report("base", *sample(engine, fmt, None, args.seed), base_p_end)
        with tempfile.TemporaryDirectory() as tmp:
            for name in filter(None, args.recipes.split(",")):
                started = time.perf_counter()
                config = TrainConfig(epochs=args.epochs, batch_size=8, seed=args.seed, **RECIPES[name])
                out = Path(tmp) / name
                result = train_dpo(TrainJob(base_model_path=args.base, examples=tuple(pairs), config=config,
                                            output_dir=str(out)))
                print(f"ending_train_s_{name}={time.perf_counter() - started:.1f}")
                print(f"holdout_reward_accuracy_{name}={result.holdout.get('reward_accuracy', float('nan')):.3f}")
                adapter_p_end = p_end(args.base, str(out), holdout)
                report(f"{name}_nobudget", *sample(engine, fmt, str(out), args.seed, budget=False), adapter_p_end)
                report(name, *sample(engine, fmt, str(out), args.seed), adapter_p_end)
    finally:
        engine.close()


if __name__ == "__main__":
    main()
