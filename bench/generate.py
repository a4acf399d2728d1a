"""Serving engine vs a naive one-request-at-a-time server, on this CPU, in one run.

8 brand adapters (ranks 8/16/32/64) over one small random Llama; 64 requests from those
brands arrive in a fixed staggered pattern. The engine serves them with continuous
mixed-adapter batching; the naive server switches the active adapter and calls
`model.generate` for one request at a time. Prints `name=value` lines.

    python bench/generate.py            # full
    python bench/generate.py --quick    # under a minute
    python bench/generate.py --device cuda --hidden 896 --layers 24   # a ~0.24B Llama on a GPU (bf16)
    python bench/generate.py --base smollm2 --quick   # a real model (or any model directory), briefs in its format

`sample_step_ms` times one sampling step (temperature 0.8, top-p 0.95) of 64 rows on the device:
with --base, the real model's next-token logits while it writes copy (49,152 for SmolLM2); without,
random logits at a 49,152 vocabulary. `sample_step_sort_ms` is the step it replaced (logits copied
to the CPU, the full vocabulary sorted), on the same logits.

On a GPU both servers run in bfloat16 (`--dtype float32` to change), and `gen_greedy_agreement`
says on how many of the brands' first requests, decoded greedily, the engine's segmented
mixed-adapter batch and peft's `generate` write the same text (bf16 rounding may part them on a
random model's near-tied logits; in float32 they agree).
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer
from transformers.utils import logging as hf_logging

from bench.bases import resolve_base
from ml.data import Codec
from ml.prompts import Brief, format_of_model
from ml.serving import (
    Engine,
    EngineConfig,
    GenerateRequest,
    GenerateResult,
    dir_checksum,
)
from ml.serving.random_adapters import make_random_adapter
from ml.serving.sampling import choose_tokens, make_generator
from ml.tiny import build_tiny_model

BRANDS = 8
REQUESTS = 64
RANKS = (8, 16, 32, 64)
PROMPTS = [
    "Write a headline for an email subject line about a spring sale.",
    "Brand voice: friendly, concise, no hype. Product: shoes. Audience: runners.",
    "Last chance:",
    "Meet the lightest headphones",
    "Why pay more? Smart watches",
    "New arrivals: summer dresses for every occasion",
]


BRIEFS = [Brief(brand="Northpeak", voice="bold and energetic", product="running shoes", audience="runners"),
          Brief(brand="Brewhaus", voice="playful and warm", channel="email_subject", product="cold brew"),
          Brief(brand="Lumen", voice="calm and premium", channel="push", product="desk lamps", tone="curious"),
          Brief(brand="Tidewell", voice="friendly and concise", product="rain jackets", audience="travelers")]


def prompts_for(model_dir: Path | None) -> list[str]:
    """The random model's fixed prompts, or briefs rendered in a real base model's own format."""
    if model_dir is None:
        return PROMPTS
    fmt = format_of_model(model_dir)
    return [fmt.render(brief) for brief in BRIEFS]


def build_workload(adapters: list[Path], *, max_new_tokens: int,
                   prompts: list[str] = PROMPTS) -> list[tuple[float, GenerateRequest]]:
    """64 (arrival offset in s, request) pairs; waves of 8 every 20 ms, fixed by a seeded RNG."""
    rng = random.Random(7)
    digests = [dir_checksum(path) for path in adapters]  # production requests carry one; loads verify it
    workload = []
    for i in range(REQUESTS):
        brand = rng.randrange(BRANDS)
        request = GenerateRequest(
            prompt=rng.choice(prompts),
            adapter_id=f"brand-{brand}",
            adapter_path=str(adapters[brand]),
            adapter_sha256=digests[brand],
            n=1 if rng.random() < 0.75 else 2,
            temperature=0.8,
            top_p=0.95,
            max_new_tokens=rng.randint(max_new_tokens // 2, max_new_tokens),
            seed=i,
        )
        workload.append(((i // 8) * 0.020, request))
    return workload


def run_engine(engine: Engine, workload: list[tuple[float, GenerateRequest]]) -> tuple[float, list[GenerateResult]]:
    """Submit each request at its arrival offset from a client thread; return (seconds, results)."""
    futures = [None] * len(workload)
    start = time.perf_counter()

    def client() -> None:
        for i, (offset, request) in enumerate(workload):
            delay = start + offset - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            futures[i] = engine.submit(request)

    thread = threading.Thread(target=client)
    thread.start()
    thread.join()
    results = [future.result() for future in futures]
    return time.perf_counter() - start, results


def first_request_per_brand(workload: list[tuple[float, GenerateRequest]]) -> list[GenerateRequest]:
    """Warm-up requests: every brand's first request, so timed runs start with adapters loaded."""
    return list({request.adapter_id: request for _, request in reversed(workload)}.values())


def default_dtype(device: str) -> str:
    return "bfloat16" if device.startswith("cuda") else "float32"


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


class NaiveServer:
    """peft with every brand's adapter loaded: switch the active adapter and `generate`, one request at a time."""

    def __init__(self, model_dir: Path, adapters: list[Path], device: str, dtype: str) -> None:
        self.device = device
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        self.codec = Codec.of(self.tokenizer)  # the engine's prompt ids and stop tokens
        model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=getattr(torch, dtype))
        model = PeftModel.from_pretrained(model, str(adapters[0]), adapter_name="brand-0")
        for brand in range(1, BRANDS):
            model.load_adapter(str(adapters[brand]), adapter_name=f"brand-{brand}")
        self.model = model.to(device).eval()

    def completion_ids(self, request: GenerateRequest, *, greedy: bool = False) -> torch.Tensor:
        self.model.set_adapter(request.adapter_id)
        prompt = self.codec.prompt(request.prompt)
        torch.manual_seed(request.seed)
        sampling = {"do_sample": False} if greedy else {
            "do_sample": True, "temperature": request.temperature, "top_p": request.top_p,
            "top_k": 0,  # same sampling rule as the engine: temperature + nucleus only
        }
        output = self.model.generate(
            input_ids=torch.tensor([prompt], device=self.device),
            attention_mask=torch.ones((1, len(prompt)), dtype=torch.long, device=self.device),
            max_new_tokens=request.max_new_tokens, num_return_sequences=request.n,
            eos_token_id=sorted(self.codec.stop_ids), pad_token_id=self.codec.pad_id, **sampling,
        )
        return output[:, len(prompt):]

    def serve(self, request: GenerateRequest) -> int:
        completion = self.completion_ids(request)
        special = torch.isin(completion, torch.tensor([*self.codec.stop_ids, self.codec.pad_id], device=self.device))
        return int((~special).sum())


def run_naive(model_dir: Path, adapters: list[Path], workload: list[tuple[float, GenerateRequest]],
              device: str = "cpu", dtype: str = "float32") -> tuple[float, int]:
    """Switch adapter and `generate` per request, in arrival order; return (seconds, tokens)."""
    server = NaiveServer(model_dir, adapters, device, dtype)
    with torch.inference_mode():
        for request in first_request_per_brand(workload):
            server.serve(request)
        synchronize(device)
        start = time.perf_counter()
        tokens = sum(server.serve(request) for _, request in workload)
        synchronize(device)
    return time.perf_counter() - start, tokens


def greedy_agreement(model_dir: Path, adapters: list[Path], workload, device: str, dtype: str) -> tuple[int, int]:
    """(requests whose greedy texts agree, requests compared): the engine against peft, one per brand."""
    requests = [replace(r, n=1, temperature=0.0) for r in first_request_per_brand(workload)]
    engine = Engine(model_dir, EngineConfig(max_adapters=BRANDS, device=device, dtype=dtype))
    try:
        futures = [engine.submit(r) for r in requests]  # together: one mixed-adapter batch
        ours = [f.result().texts[0] for f in futures]
    finally:
        engine.close()
    server = NaiveServer(model_dir, adapters, device, dtype)
    tok = server.tokenizer
    with torch.inference_mode():
        theirs = [tok.decode(server.completion_ids(r, greedy=True)[0], skip_special_tokens=True) for r in requests]
    return sum(a.strip() == b.strip() for a, b in zip(ours, theirs, strict=True)), len(requests)


def measure_engine(model_dir: Path, workload, lora: str, batching: str, device: str = "cpu",
                   dtype: str = "float32") -> dict[str, float]:
    engine = Engine(model_dir, EngineConfig(lora=lora, batching=batching, max_adapters=BRANDS, device=device,
                                            dtype=dtype))
    try:
        # Cold loads (checksum + read + attach) happen here, one request per brand, so the
        # timed run measures a warm cache.
        for request in first_request_per_brand(workload):
            engine.generate(request)
        cold_ms = statistics.mean(engine.stats.adapter_load_ms)
        seconds, results = run_engine(engine, workload)
    finally:
        engine.close()
    latencies = sorted(r.elapsed_ms for r in results)
    tokens = sum(sum(r.token_counts) for r in results)
    return {
        "tokens_per_s": tokens / seconds,
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))],
        "cold_load_ms": cold_ms,
        "max_rows": engine.stats.max_active_rows,
    }


def measure_unbatched(model_dir: Path, workload, device: str = "cpu", dtype: str = "float32") -> float:
    """Tokens/s of the engine's own decode loop fed one request at a time (no batching)."""
    engine = Engine(model_dir, EngineConfig(max_adapters=BRANDS, device=device, dtype=dtype))
    try:
        for request in first_request_per_brand(workload):
            engine.generate(request)
        start = time.perf_counter()
        tokens = sum(sum(engine.generate(request).token_counts) for _, request in workload)
        return tokens / (time.perf_counter() - start)
    finally:
        engine.close()


def sort_step(logits: torch.Tensor, temperatures: list[float], top_ps: list[float],
              generators: list[torch.Generator]) -> list[int]:
    """The sampling step the engine had before: full-vocabulary logits to the CPU, sorted, then the nucleus."""
    logits = logits.float().cpu()
    probs = torch.softmax(logits / torch.tensor(temperatures).unsqueeze(1), dim=-1)
    sorted_probs, order = torch.sort(probs, dim=-1, descending=True)
    mass_before = torch.cumsum(sorted_probs, dim=-1) - sorted_probs
    kept = torch.where(mass_before < torch.tensor(top_ps).unsqueeze(1), sorted_probs, torch.zeros_like(sorted_probs))
    cumulative = torch.cumsum(kept, dim=-1)
    draws = torch.stack([torch.rand((), generator=g) for g in generators])
    positions = torch.searchsorted(cumulative, (draws * cumulative[:, -1]).unsqueeze(1), right=True)
    return order.gather(1, positions.clamp(max=logits.shape[-1] - 1)).squeeze(1).tolist()


@torch.inference_mode()
def copy_logits(model_dir: Path, prompts: list[str], rows: int, device: str) -> torch.Tensor:
    """`rows` next-token logits of a real model while it writes copy: each prompt's first greedy tokens."""
    codec = Codec.of(AutoTokenizer.from_pretrained(str(model_dir)))
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=getattr(torch, default_dtype(device)))
    model = model.to(device).eval()
    per_prompt = -(-rows // len(prompts))
    found = []
    for prompt in prompts:
        ids = torch.tensor([codec.prompt(prompt)], device=device)
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=per_prompt,
                             min_new_tokens=per_prompt, do_sample=False, output_logits=True,
                             return_dict_in_generate=True, pad_token_id=codec.pad_id)
        found.extend(step[0] for step in out.logits)
    return torch.stack(found[:rows])


def sample_step_ms(logits: torch.Tensor, device: str, *, repeats: int = 30) -> tuple[float, float]:
    """Median ms of one sampling step of the rows of `logits`: the engine's on-device step, and the sort it replaced."""
    rows = logits.shape[0]
    temps, top_ps = [0.8] * rows, [0.95] * rows
    timings: dict[str, list[float]] = {"device": [], "sort": []}
    for _ in range(repeats):
        for name, step in (("device", choose_tokens), ("sort", sort_step)):
            generators = [make_generator(i) for i in range(rows)]
            synchronize(device)
            start = time.perf_counter()
            step(logits, temps, top_ps, generators)
            synchronize(device)
            timings[name].append((time.perf_counter() - start) * 1000.0)
    return statistics.median(timings["device"]), statistics.median(timings["sort"])


def median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    """The run with the median throughput (the CPU is shared, so single runs are noisy)."""
    return sorted(runs, key=lambda run: run["tokens_per_s"])[len(runs) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="shorter completions, one run, default engine only")
    parser.add_argument("--hidden", type=int, default=128, help="hidden size of the random Llama (dev model: 128)")
    parser.add_argument("--layers", type=int, default=4, help="decoder layers of the random Llama (dev model: 4)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for both servers")
    parser.add_argument("--base", help="a base model directory, or 'smollm2' (bench/bases.py), instead of a random one")
    parser.add_argument("--device", default="cpu", help="cpu, or cuda: both servers on the GPU in bfloat16")
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], help="override the device's default dtype")
    args = parser.parse_args()
    dtype = args.dtype or default_dtype(args.device)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("no GPU here: run without --device")
    torch.set_num_threads(args.threads)
    hf_logging.disable_progress_bar()  # keep stdout to name=value lines
    warnings.filterwarnings("ignore", category=FutureWarning)
    max_new_tokens = 24 if args.quick else 48
    repeats = 1 if args.quick else 3
    default = EngineConfig()
    alternatives = [] if args.quick else [("peft", "mixed"), ("peft", "grouped"), ("segmented", "grouped")]

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(resolve_base(args.base)) if args.base else build_tiny_model(
            Path(tmp) / "model",
            hidden_size=args.hidden,
            num_layers=args.layers,
            num_heads=max(4, args.hidden // 64),
            intermediate_size=args.hidden * 11 // 4,
            vocab_size=1024,
        )
        adapters = [
            make_random_adapter(model_dir, Path(tmp) / f"brand-{b}", seed=b, rank=RANKS[b % len(RANKS)])
            for b in range(BRANDS)
        ]
        workload = build_workload(adapters, max_new_tokens=max_new_tokens,
                                  prompts=prompts_for(model_dir if args.base else None))
        engine_runs, naive_runs = [], []
        for _ in range(repeats):  # interleaved, so load from other processes hits both alike
            engine_runs.append(measure_engine(model_dir, workload, default.lora, default.batching, args.device, dtype))
            seconds, tokens = run_naive(model_dir, adapters, workload, args.device, dtype)
            naive_runs.append({"tokens_per_s": tokens / seconds})
        others = {f"{lora}_{batching}": measure_engine(model_dir, workload, lora, batching, args.device, dtype)
                  for lora, batching in alternatives}
        unbatched = None if args.quick else measure_unbatched(model_dir, workload, args.device, dtype)
        agree, compared = greedy_agreement(model_dir, adapters, workload, args.device, dtype)
        if args.base:
            logits = copy_logits(model_dir, prompts_for(model_dir), 64, args.device)
        else:  # no real distribution to read: random logits at the 49k vocabulary, as flat as a real model's first token
            torch.manual_seed(0)
            logits = torch.randn(64, 49152, device=args.device) * 3
        vocab = logits.shape[-1]
        step_ms, sort_ms = sample_step_ms(logits, args.device)

    engine, naive = median_run(engine_runs), median_run(naive_runs)["tokens_per_s"]
    model = args.base or f"random_llama_h{args.hidden}_l{args.layers}"
    print(f"gen_model={model}")
    print(f"gen_device={torch.cuda.get_device_name(0) if args.device.startswith('cuda') else 'cpu'}")
    print(f"gen_dtype={dtype}")
    print(f"gen_workload=requests:{REQUESTS},brands:{BRANDS},max_new_tokens:{max_new_tokens},threads:{args.threads}")
    print(f"gen_engine_config=lora:{default.lora},batching:{default.batching},runs:{repeats}")
    print(f"gen_engine_tokens_per_s={engine['tokens_per_s']:.1f}")
    print(f"gen_naive_tokens_per_s={naive:.1f}")
    print(f"gen_speedup={engine['tokens_per_s'] / naive:.2f}")
    print(f"gen_p50_ms={engine['p50_ms']:.1f}")
    print(f"gen_p99_ms={engine['p99_ms']:.1f}")
    print(f"adapter_cold_load_ms={engine['cold_load_ms']:.1f}")
    print(f"gen_engine_max_batch_rows={engine['max_rows']}")
    for name, figures in others.items():
        print(f"gen_engine_{name}_tokens_per_s={figures['tokens_per_s']:.1f}")
    if unbatched is not None:
        print(f"gen_engine_unbatched_tokens_per_s={unbatched:.1f}")
    print(f"gen_greedy_agreement={agree}/{compared}")
    print(f"sample_step_vocab={vocab}")
    print(f"sample_step_ms={step_ms:.2f}")
    print(f"sample_step_sort_ms={sort_ms:.2f}")


if __name__ == "__main__":
    main()
