"""Build the dev base model: synthetic briefs and headlines -> tokenizer -> small Llama -> HF directory.

Each training document is a rendered brief (see `grammar.render_brief`) followed by copy that
answers it, tokenised exactly as the DPO trainer tokenises a prompt and a completion
(`[BOS] brief`, `copy [EOS]`), with the loss on the copy only. The brief's product, tone,
audience and channel steer the copy, so the model learns to follow them.

The build samples copy for held-out briefs and records how much of it parses under the
grammar and how often it names the brief's product, in the model card and in `devmodel.json`.
A build under its bar (`parse_bar`, 90%) raises `BuildFailed` and writes nothing: the schedule
is a number of steps, never a time budget, so a busy machine gets the same model, later.
`build_with_retries` tries other seeds before giving up.
"""
from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from ml.data import encode_completion, encode_prompt
from ml.devmodel import grammar
from ml.tiny import build_tokenizer


@dataclass(frozen=True)
class BuildConfig:
    """Sizes and budgets of one dev-model build."""

    documents: int = 20000  # synthetic (brief, copy) documents
    vocab_size: int = 1024  # byte-level BPE vocabulary, special tokens included
    hidden_size: int = 128  # model width
    num_layers: int = 4  # decoder layers
    num_heads: int = 4  # attention heads
    intermediate_size: int = 352  # MLP width
    batch_size: int = 32  # documents per step
    lr: float = 3e-3  # peak AdamW learning rate
    warmup_steps: int = 30  # linear warm-up steps
    max_steps: int = 450  # optimizer steps (about 200 s on 2 idle cores); the same model on every machine
    eval_samples: int = 200  # held-out briefs sampled for the parse-rate check
    temperature: float = 0.8  # sampling temperature of the check
    parse_bar: float = 0.9  # share of sampled copy that must parse, or the build fails
    seed: int = 0  # seeds corpus, init and sampling


# A few seconds, for tests and smoke runs: too small to learn the grammar, so it has no parse bar.
QUICK = BuildConfig(documents=1000, vocab_size=400, hidden_size=32, num_layers=2, num_heads=4,
                    intermediate_size=64, warmup_steps=10, max_steps=30, eval_samples=16, parse_bar=0.0)


class BuildFailed(RuntimeError):
    """The model missed its quality bar; `stats` says by how much."""

    def __init__(self, message: str, stats: dict) -> None:
        super().__init__(message)
        self.stats = stats


def make_corpus(rng: random.Random, n: int) -> list[tuple[str, str]]:
    """`n` (brief, copy) pairs whose copy follows the brief's channel, product, tone and audience."""
    docs = []
    for _ in range(n):
        brief = grammar.random_brief(rng)
        copy = grammar.generate_text(rng, brief["channel"], product=brief["product"], tone=brief["tone"],
                                     audience=brief["audience"], brand=brief["brand"])
        docs.append((grammar.render_brief(**brief), copy))
    return docs


def _encode(tokenizer, docs: list[tuple[str, str]]) -> list[tuple[list[int], int]]:
    """Token ids of each document and where its copy starts."""
    out = []
    for prompt, copy in docs:
        p = encode_prompt(tokenizer, prompt, 256)
        out.append((p + encode_completion(tokenizer, copy, 64), len(p)))
    return out


def _batch(encoded: list[tuple[list[int], int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    length = max(len(ids) for ids, _ in encoded)
    ids = torch.full((len(encoded), length), pad_id)
    mask = torch.zeros((len(encoded), length), dtype=torch.long)
    labels = torch.full((len(encoded), length), -100)
    for i, (seq, start) in enumerate(encoded):
        ids[i, : len(seq)] = torch.tensor(seq)
        mask[i, : len(seq)] = 1
        labels[i, start : len(seq)] = torch.tensor(seq[start:])  # the loss covers the copy and its EOS only
    return ids, mask, labels


def train_lm(model, tokenizer, docs: list[tuple[str, str]], cfg: BuildConfig, log) -> dict:
    """Next-token training on the copy for `max_steps` steps (warm-up, then cosine decay).

    No wall-clock budget: one cut short on a busy machine gave a model that wrote nonsense.
    """
    encoded = _encode(tokenizer, docs)
    rng = random.Random(cfg.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.01)
    model.train()
    losses, started = [], time.perf_counter()
    for step in range(cfg.max_steps):
        progress = step / cfg.max_steps
        lr = cfg.lr * min(1.0, (step + 1) / cfg.warmup_steps, 0.5 * (1 + math.cos(math.pi * progress)))
        for group in opt.param_groups:
            group["lr"] = lr
        ids, mask, labels = _batch(rng.sample(encoded, cfg.batch_size), tokenizer.pad_token_id)
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
        if (step + 1) % 50 == 0:
            log(f"step {step + 1}/{cfg.max_steps} loss {sum(losses[-50:]) / len(losses[-50:]):.3f}")
    return {"steps": cfg.max_steps, "train_seconds": time.perf_counter() - started,
            "final_loss": sum(losses[-20:]) / len(losses[-20:])}


@torch.no_grad()
def sample_copy(model, tokenizer, prompts: list[str], *, temperature: float, seed: int) -> list[str]:
    """One sampled completion per prompt, decoded without special tokens."""
    torch.manual_seed(seed)
    model.eval()
    encoded = [encode_prompt(tokenizer, p, 256) for p in prompts]
    length = max(len(e) for e in encoded)
    ids = torch.full((len(encoded), length), tokenizer.pad_token_id)
    mask = torch.zeros_like(ids)
    for i, e in enumerate(encoded):  # left padding, so every prompt ends where generation starts
        ids[i, length - len(e):] = torch.tensor(e)
        mask[i, length - len(e):] = 1
    out = model.generate(input_ids=ids, attention_mask=mask, do_sample=True, temperature=temperature, top_k=0,
                         max_new_tokens=48, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    return [tokenizer.decode(row[length:], skip_special_tokens=True) for row in out]


def evaluate(model, tokenizer, cfg: BuildConfig) -> dict:
    """Parse rate and brief-following of samples for held-out briefs."""
    rng = random.Random(cfg.seed + 7)
    briefs = [grammar.random_brief(rng) for _ in range(cfg.eval_samples)]
    samples = sample_copy(model, tokenizer, [grammar.render_brief(**b) for b in briefs],
                          temperature=cfg.temperature, seed=cfg.seed)
    feats = [grammar.features(s) for s in samples]
    named = [f for f in feats if f["product_named"]]
    return {
        "samples": len(samples),
        "parse_rate": sum(f["grammatical"] for f in feats) / len(feats),
        "product_named_rate": len(named) / len(feats),
        "product_matches_brief_rate": (sum(f["product_named"] == b["product"] for f, b in zip(feats, briefs))
                                       / max(1, len(named))),
        "examples": [{"brief": b, "copy": s} for b, s in list(zip(briefs, samples))[:8]],
    }


def _model_card(cfg: BuildConfig, stats: dict, n_params: int) -> str:
    examples = "\n".join(f"- `{e['brief']['channel']}` / {e['brief']['product']} / {e['brief']['tone']}: "
                         f"{e['copy']!r}" for e in stats["eval"]["examples"])
    return f"""# PrefContent dev base model

A {n_params:,}-parameter Llama-style causal LM and byte-level BPE tokenizer ({cfg.vocab_size} tokens),
trained from scratch in {stats['train']['train_seconds']:.0f} s on {cfg.documents:,} synthetic marketing
documents generated by `ml.devmodel.grammar`. For development and tests only: it knows
nothing but the grammar.

## Prompt format

```
{grammar.render_brief(brand="Lumen", voice="friendly and concise", channel="headline", product="yoga mats",
                      audience="students", tone="value")}
```
The completion follows `Write:` directly and ends with `</s>`. Tokenise prompts as `<s>` + prompt and
completions as copy + `</s>` (as `ml.data` does).

## Checks on {stats['eval']['samples']} held-out briefs (temperature {cfg.temperature})

- parses under the grammar: {stats['eval']['parse_rate']:.1%} (bar: {cfg.parse_bar:.0%})
- names a product: {stats['eval']['product_named_rate']:.1%}; of those, the brief's product:
  {stats['eval']['product_matches_brief_rate']:.1%}
- final training loss (copy tokens): {stats['train']['final_loss']:.3f} after {stats['train']['steps']} steps

Samples:
{examples}

## Build

`python -m ml.devmodel build OUT_DIR` with `{json.dumps(asdict(cfg))}`
"""


def build(out_dir: str | Path, cfg: BuildConfig, log=print) -> dict:
    """Build the dev model into `out_dir`; return the stats written to devmodel.json.

    Raises BuildFailed, with nothing written, when the parse rate is under `cfg.parse_bar`.
    devmodel.json is written last, so its presence means a complete build that met its bar.
    """
    from transformers import LlamaConfig, LlamaForCausalLM

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    torch.manual_seed(cfg.seed)
    docs = make_corpus(random.Random(cfg.seed), cfg.documents)
    # build_tokenizer repeats its texts 4x; 10k documents cover the closed vocabulary many times over.
    tokenizer = build_tokenizer(out, vocab_size=cfg.vocab_size, texts=[p + c for p, c in docs[:10000]])
    log(f"corpus {len(docs)} docs, tokenizer {len(tokenizer)} tokens, seed {cfg.seed}")
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=cfg.hidden_size, intermediate_size=cfg.intermediate_size,
                         num_hidden_layers=cfg.num_layers, num_attention_heads=cfg.num_heads,
                         num_key_value_heads=cfg.num_heads, max_position_embeddings=512,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=False)
    model = LlamaForCausalLM(config)
    n_params = sum(p.numel() for p in model.parameters())
    stats = {"config": asdict(cfg), "params": n_params, "train": train_lm(model, tokenizer, docs, cfg, log)}
    stats["eval"] = evaluate(model, tokenizer, cfg)
    stats["eval"]["meets_parse_bar"] = stats["eval"]["parse_rate"] >= cfg.parse_bar
    stats["build_seconds"] = time.perf_counter() - started
    log(f"parse_rate={stats['eval']['parse_rate']:.3f} (bar {cfg.parse_bar}) build_seconds={stats['build_seconds']:.0f}")
    if not stats["eval"]["meets_parse_bar"]:
        raise BuildFailed(f"parse rate {stats['eval']['parse_rate']:.3f} is under the bar {cfg.parse_bar} "
                          f"after {stats['train']['steps']} steps (seed {cfg.seed})", stats)
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(str(out))
    (out / "README.md").write_text(_model_card(cfg, stats, n_params), encoding="utf-8")
    (out / "devmodel.json").write_text(json.dumps(stats, indent=1, ensure_ascii=False), encoding="utf-8")
    return stats


def build_with_retries(out_dir: str | Path, cfg: BuildConfig, *, attempts: int = 3, log=print) -> dict:
    """`build` with seeds cfg.seed, cfg.seed + 1, ... until one meets the bar; BuildFailed after `attempts`.

    Each attempt starts from an empty `out_dir`, so a failed one leaves nothing behind.
    """
    import shutil

    out = Path(out_dir)
    failures = []
    for attempt in range(attempts):
        shutil.rmtree(out, ignore_errors=True)
        seeded = replace(cfg, seed=cfg.seed + attempt)
        log(f"attempt {attempt + 1}/{attempts} (seed {seeded.seed})")
        try:
            return build(out, seeded, log=log)
        except BuildFailed as exc:
            log(f"attempt {attempt + 1}/{attempts} failed: {exc}")
            failures.append(str(exc))
    shutil.rmtree(out, ignore_errors=True)
    raise BuildFailed(f"the dev model missed its bar in {attempts} attempt(s): " + "; ".join(failures),
                      {"failures": failures})
