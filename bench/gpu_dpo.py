"""This trainer against TRL's DPOTrainer on a GPU, with a random ~0.5B Qwen2 model in bf16.

The model is built from a Qwen2.5-0.5B-shaped config (no download) with random weights and
saved with a small byte-level tokenizer (token ids stay below its vocabulary; the LM head keeps
the full 151,936 rows, so the compute is the real model's). Pairs are marketing-shaped as in
bench/dpo_vs_trl.py. Each trainer runs in its own process, end to end from the model path.

Reports, for each trainer: pair tokens/s (prompt + chosen + rejected tokens of the pairs
trained on, prompt counted once, the same numerator for both), model FLOP utilisation
(6 x parameters x pair tokens per second over the GPU's dense bf16 peak, --peak-tflops) and
peak GPU memory; then the same split into setup (load, tokenise, reference pass, save) and the
optimizer loop, with the loop's own tokens/s and utilisation. Then this trainer once more as the product
trains (`rpo_alpha` 1.0, every fourth pair a rule repair that gets no NLL term: the per-pair
`imitate` mask on the device), reporting its speed and final loss. `--tiny` runs a tiny Qwen2 on
the CPU to check the script itself.
    python bench/gpu_dpo.py [--tiny] [--pairs N] [--epochs E]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from dpo_vs_trl import HP, build_pairs, peak_rss_mb, run_ours, run_trl

QWEN2_05B = {"hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24, "num_attention_heads": 14,
                 "num_key_value_heads": 2, "vocab_size": 151936, "max_position_embeddings": 4096, "tie_word_embeddings": True,
                 "rope_theta": 1000000.0, "rms_norm_eps": 1e-6}
QWEN2_TINY = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
                  "num_key_value_heads": 2, "vocab_size": 512, "max_position_embeddings": 512, "tie_word_embeddings": True}


def build_qwen2(out: Path, shape: dict) -> int:
    """Save a random Qwen2 of `shape` plus a byte-level tokenizer; return the parameter count."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from ml.tiny import build_tokenizer

    tokenizer = build_tokenizer(out)
    torch.manual_seed(0)
    config = Qwen2Config(bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, **shape)
    model = Qwen2ForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(str(out))
    return sum(p.numel() for p in model.parameters())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="tiny Qwen2 on the CPU (checks the script)")
    parser.add_argument("--pairs", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="dense bf16 peak (H100/H200 SXM: 989)")
    parser.add_argument("--worker", choices=["ours", "trl", "rpo"], help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    import torch

    device = "cpu" if args.tiny else "cuda"
    hp = {**HP, "batch_size": args.batch_size}
    if args.worker:
        import datasets  # noqa: F401  (imports are not throughput)

        work = Path(args.dir)
        pairs = json.loads((work / "pairs.json").read_text())
        fn = run_trl if args.worker == "trl" else run_ours
        if args.worker == "rpo":  # as the product trains: RPO, repairs (every fourth pair) without the NLL term
            hp = {**hp, "rpo_alpha": 1.0}
            pairs = [{**p, "imitate": i % 4 != 3} for i, p in enumerate(pairs)]
        result = fn(str(work / "base"), pairs, args.epochs, str(work / f"out-{args.worker}"), hp=hp, device=device)
        result["peak_mem_mb"] = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else peak_rss_mb()
        print("RESULT " + json.dumps(result))
        return

    if not args.tiny and not torch.cuda.is_available():
        sys.exit("no GPU: run with --tiny on a CPU")
    from ml.adapters import load_tokenizer
    from ml.config import PreferenceExample
    from ml.data import tokenize_pairs

    n_pairs = args.pairs or (32 if args.tiny else 1024)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        n_params = build_qwen2(work / "base", QWEN2_TINY if args.tiny else QWEN2_05B)
        tokenizer = load_tokenizer(str(work / "base"))
        pairs = build_pairs(tokenizer, n_pairs)
        (work / "pairs.json").write_text(json.dumps(pairs))
        tokens = sum(p.packed_length for p in tokenize_pairs(tokenizer, [PreferenceExample(**p) for p in pairs],
                                                              max_prompt_tokens=512, max_completion_tokens=128))
        results = {}
        for name in ("ours", "trl", "rpo"):
            cmd = [sys.executable, __file__, "--worker", name, "--dir", tmp, "--epochs", str(args.epochs),
                   "--batch-size", str(args.batch_size)] + (["--tiny"] if args.tiny else [])
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                sys.exit(f"{name} failed:\n{proc.stderr[-4000:]}")
            line = next(l for l in proc.stdout.splitlines() if l.startswith("RESULT "))
            results[name] = json.loads(line[len("RESULT "):])
    print(f"device={'cpu' if args.tiny else torch.cuda.get_device_name(0)}")
    print(f"params={n_params}")
    print(f"pairs={n_pairs}")
    print(f"epochs={args.epochs}")
    for name, label in (("ours", "dpo"), ("trl", "trl")):
        r = results[name]
        tok_s = tokens * args.epochs / r["seconds"]
        print(f"{label}_pairs_per_s={r['pairs_per_s']:.2f}")
        print(f"{label}_tokens_per_s={tok_s:.0f}")
        print(f"{label}_mfu={6 * n_params * tok_s / (args.peak_tflops * 1e12):.4f}")
        print(f"{label}_peak_mem_mb={r['peak_mem_mb']:.0f}")
        # End to end = setup (load, tokenise, reference pass, save) + the optimizer loop.
        loop_tok_s = tokens * args.epochs / r["train_loop_s"]
        print(f"{label}_setup_s={r['seconds'] - r['train_loop_s']:.1f}")
        print(f"{label}_train_loop_s={r['train_loop_s']:.1f}")
        print(f"{label}_loop_tokens_per_s={loop_tok_s:.0f}")
        print(f"{label}_loop_mfu={6 * n_params * loop_tok_s / (args.peak_tflops * 1e12):.4f}")
    print(f"dpo_vs_trl_speedup={results['ours']['pairs_per_s'] / results['trl']['pairs_per_s']:.2f}")
    rpo = results["rpo"]
    print(f"rpo_masked_pairs_per_s={rpo['pairs_per_s']:.2f}")
    print(f"rpo_masked_train_loop_s={rpo['train_loop_s']:.1f}")
    print(f"rpo_masked_final_loss={rpo['final_loss']:.4f}")


if __name__ == "__main__":
    main()
