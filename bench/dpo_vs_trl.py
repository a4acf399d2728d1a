"""This trainer against TRL's DPOTrainer: same tiny model, same marketing-shaped pairs, same CPU.

Pairs have prompts of 64-128 tokens and completions of 8-24 tokens, like briefs and headlines.
Both trainers run the same hyperparameters (LoRA r=16 on all projections, AdamW, linear decay,
clipping at 1.0, beta 0.1, batch 8), each in its own process with one thread, timed end to
end from the model path to a trained adapter (load, tokenise, reference, train). TRL runs
with its defaults otherwise (reference forward every step, no prompt sharing).

A separate agreement run feeds both the same batches, in order, from the same LoRA weights,
and reports the largest difference of the per-step losses over the first steps.

Prints name=value lines: dpo_pairs_per_s, trl_pairs_per_s, dpo_vs_trl_speedup,
max_abs_loss_diff, dpo_peak_rss_mb, trl_peak_rss_mb (peak resident memory of each process).
    python bench/dpo_vs_trl.py [--quick] [--base DIR | --base smollm2]

With --base, a real model instead of the tiny random Llama: prompts are briefs rendered in its own
format (its chat template when it has one), LoRA on every projection of its architecture.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

WORDS = ["save", "fresh", "bold", "bright", "summer", "spring", "deal", "brand", "voice", "friendly", "warm", "playful", "premium", "runners", "shoes", "candles", "coffee", "headphones", "audience", "parents", "students", "weekend", "morning", "launch", "offer", "exclusive", "limited", "new", "arrivals", "style", "comfort", "quality", "today", "tonight", "free", "shipping"]
HP = {"lr": 5e-4, "beta": 0.1, "batch_size": 8, "lora_rank": 16, "lora_alpha": 32, "max_grad_norm": 1.0}


def build_pairs(tokenizer, n: int, seed: int = 0, fmt=None) -> list[dict]:
    """Pairs whose prompt is 64-128 tokens and completions 8-24 tokens under `tokenizer` (plus BOS/EOS).

    With a chat format (ml.prompts), the filler words are the brand voice of a rendered brief.
    """
    rng = random.Random(seed)

    def text_of(lo: int, hi: int, head: str) -> str:
        target = rng.randint(lo, hi)
        text = head
        while len(tokenizer(text, add_special_tokens=False)["input_ids"]) < target:
            text += " " + rng.choice(WORDS)
        return text

    out = []
    for i in range(n):
        if fmt is not None and fmt.chat_template:
            from ml.prompts import Brief

            frame = len(tokenizer(fmt.render(Brief(brand=f"Acme {i}")), add_special_tokens=False)["input_ids"])
            voice = text_of(max(1, 62 - frame), max(2, 126 - frame), "friendly")
            prompt = fmt.render(Brief(brand=f"Acme {i}", voice=voice, product="shoes"))
        else:
            brief = f"Brand: Acme {i}\nVoice:"
            prompt = text_of(62, 126, brief) + "\nWrite:"
        out.append({"prompt": prompt, "chosen": text_of(7, 23, "Save"), "rejected": text_of(7, 23, "Meet")})
    return out


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_ours(base: str, pairs: list[dict], epochs: int, out: str, *, hp: dict = HP, device: str = "cpu") -> dict:
    from ml.config import PreferenceExample, TrainConfig, TrainJob
    from ml.train import train_dpo

    cfg = TrainConfig(epochs=epochs, lr_schedule="linear", device=device, **hp)
    job = TrainJob(base_model_path=base, examples=tuple(PreferenceExample(**p) for p in pairs), config=cfg,
                   output_dir=out)
    start = time.perf_counter()
    result = train_dpo(job)
    elapsed = time.perf_counter() - start
    return {"pairs_per_s": len(pairs) * epochs / elapsed, "seconds": elapsed, "steps": result.steps,
            "train_loop_s": result.history[-1]["elapsed_s"] if result.history else 0.0, "peak_rss_mb": peak_rss_mb(),
            "final_loss": result.history[-1]["loss"] if result.history else float("nan")}


def trl_trainer(base: str, pairs: list[dict], epochs: int, out: str, *, sequential: bool = False, hp: dict = HP,
                gpu: bool = False):
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoConfig, AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    from ml.adapters import ARCHITECTURE_TARGETS
    from ml.data import Codec

    class Trainer(DPOTrainer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.losses: list[float] = []

        def _get_train_sampler(self, *args, **kwargs):
            if sequential:
                return torch.utils.data.SequentialSampler(self.train_dataset)
            return super()._get_train_sampler(*args, **kwargs)

        def compute_loss(self, model, inputs, *args, **kwargs):
            loss = super().compute_loss(model, inputs, *args, **kwargs)
            if model.training:
                self.losses.append(float(loss.detach()))
            return loss

    # TRL adds no BOS for a tokenizer that does not; spelling it out gives both trainers the same ids
    # (a chat prompt carries its template's own special tokens, as ml.data reads it).
    codec = Codec.of(AutoTokenizer.from_pretrained(base))
    bos = "" if codec.chat or codec.bos_id is None else codec.tokenizer.bos_token
    data = Dataset.from_list([{**p, "prompt": bos + p["prompt"]} for p in pairs])
    args = DPOConfig(output_dir=out, per_device_train_batch_size=hp["batch_size"], learning_rate=hp["lr"],
                     beta=hp["beta"], max_grad_norm=hp["max_grad_norm"], num_train_epochs=epochs,
                     lr_scheduler_type="linear", report_to=[], use_cpu=not gpu, bf16=gpu, max_length=None,
                     save_strategy="no", logging_steps=10**9, disable_tqdm=True, seed=0, dataset_num_proc=None,
                     model_init_kwargs={"dtype": torch.bfloat16 if gpu else torch.float32,
                                        "attn_implementation": "sdpa"})
    targets = ARCHITECTURE_TARGETS[AutoConfig.from_pretrained(base).model_type]
    lora = LoraConfig(r=hp["lora_rank"], lora_alpha=hp["lora_alpha"], target_modules=list(targets),
                      fan_in_fan_out=AutoConfig.from_pretrained(base).model_type == "gpt2", task_type="CAUSAL_LM")
    return Trainer(model=base, args=args, train_dataset=data, peft_config=lora)


def run_trl(base: str, pairs: list[dict], epochs: int, out: str, *, hp: dict = HP, device: str = "cpu") -> dict:
    start = time.perf_counter()
    trainer = trl_trainer(base, pairs, epochs, out, hp=hp, gpu=device.startswith("cuda"))
    output = trainer.train()
    trainer.save_model(out)
    elapsed = time.perf_counter() - start
    return {"pairs_per_s": len(pairs) * epochs / elapsed, "seconds": elapsed, "steps": trainer.state.global_step,
            "train_loop_s": output.metrics["train_runtime"], "peak_rss_mb": peak_rss_mb()}


def run_agreement(base: str, pairs: list[dict], out: str, steps: int = 4) -> dict:
    """Per-step losses of both trainers on the same batches from the same LoRA weights."""
    import torch

    from ml.adapters import load_tokenizer
    from ml.config import PreferenceExample, TrainConfig
    from ml.data import Codec, tokenize_pairs
    from ml.losses import preference_loss
    from ml.train import lr_at, pair_logps, reference_logps

    batch = HP["batch_size"]
    pairs = pairs[: steps * batch]
    trainer = trl_trainer(base, pairs, 1, out, sequential=True)
    trainer.args.max_steps = steps
    model = trainer.model
    initial = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    trainer.train()
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name in initial:
                param.copy_(initial[name])
    tokenizer = load_tokenizer(base)
    cpu = torch.device("cpu")
    toks = tokenize_pairs(tokenizer, [PreferenceExample(**p) for p in pairs], max_prompt_tokens=512,
                          max_completion_tokens=128)
    pad_id = Codec.of(tokenizer).pad_id
    ref_c, ref_r = reference_logps(model, toks, pad_id=pad_id, device=cpu, batch_size=batch, disable_adapter=True)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=HP["lr"], weight_decay=0.0)
    cfg = TrainConfig(lr=HP["lr"], lr_schedule="linear", max_steps=steps)
    ours = []
    model.train()
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg, steps)
        chunk = toks[step * batch : (step + 1) * batch]
        idx = torch.tensor([p.index for p in chunk])
        c, r, _, _, _ = pair_logps(model, chunk, pad_id, cpu)
        loss = preference_loss(c, r, ref_c[idx], ref_r[idx], beta=HP["beta"], loss_type="sigmoid").loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, HP["max_grad_norm"])
        opt.step()
        opt.zero_grad()
        ours.append(loss.item())
    theirs = trainer.losses[:steps]
    return {"max_abs_loss_diff": max(abs(a - b) for a, b in zip(ours, theirs)), "ours": ours, "trl": theirs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer pairs; under a minute")
    parser.add_argument("--pairs", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--base", help="a model directory or 'smollm2' (bench/bases.py) instead of the tiny Llama")
    parser.add_argument("--worker", choices=["ours", "trl", "agree"], help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    if args.worker:
        # Import cost is not training throughput: load every library before the clocks start.
        import datasets  # noqa: F401
        import trl
        from transformers import LlamaForCausalLM  # noqa: F401

        work = Path(args.dir)
        pairs = json.loads((work / "pairs.json").read_text())
        fn = {"ours": run_ours, "trl": run_trl}.get(args.worker)
        if fn:
            result = fn(str(work / "base"), pairs, args.epochs, str(work / f"out-{args.worker}"))
        else:
            result = run_agreement(str(work / "base"), pairs, str(work / "out-agree"))
        print("RESULT " + json.dumps(result))
        return

    from bench.bases import resolve_base
    from ml.adapters import load_tokenizer
    from ml.prompts import format_of_model
    from ml.tiny import build_tiny_model

    n_pairs = args.pairs or (48 if args.quick else 256)
    epochs = args.epochs or (1 if args.quick else 2)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.base:
            base = work / "base"
            base.symlink_to(Path(resolve_base(args.base)).resolve(), target_is_directory=True)
        else:
            base = build_tiny_model(work / "base", hidden_size=128, num_layers=4, num_heads=4, intermediate_size=344)
        pairs = build_pairs(load_tokenizer(str(base)), n_pairs, fmt=format_of_model(base))
        (work / "pairs.json").write_text(json.dumps(pairs))

        def worker(name: str) -> dict:
            cmd = [sys.executable, __file__, "--worker", name, "--dir", tmp, "--epochs", str(epochs),
                   "--threads", str(args.threads)]
            proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
            if proc.returncode:
                raise SystemExit(f"worker {name} failed:\n{proc.stderr[-3000:]}")
            line = next(l for l in proc.stdout.splitlines() if l.startswith("RESULT "))
            return json.loads(line[len("RESULT "):])

        ours, trl, agree = worker("ours"), worker("trl"), worker("agree")
    print(f"base={args.base or 'random_llama_h128_l4'}")
    print(f"pairs={n_pairs}")
    print(f"epochs={epochs}")
    print(f"threads={args.threads}")
    print(f"dpo_pairs_per_s={ours['pairs_per_s']:.2f}")
    print(f"trl_pairs_per_s={trl['pairs_per_s']:.2f}")
    print(f"dpo_vs_trl_speedup={ours['pairs_per_s'] / trl['pairs_per_s']:.2f}")
    print(f"max_abs_loss_diff={agree['max_abs_loss_diff']:.2e}")
    print(f"dpo_peak_rss_mb={ours['peak_rss_mb']:.0f}")
    print(f"trl_peak_rss_mb={trl['peak_rss_mb']:.0f}")
    print(f"dpo_steps={ours['steps']}")
    print(f"trl_steps={trl['steps']}")


if __name__ == "__main__":
    main()
