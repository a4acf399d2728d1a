"""Where a training step of this trainer spends its time on a GPU (torch.profiler over a few steps).

Same random ~0.5B Qwen2 and pairs as bench/gpu_dpo.py. Prints each step's wall time and the top
operators by GPU and by CPU time; the GPU table's "Self CUDA time total" is the kernels' busy time
over the profiled steps, so that a low utilisation in gpu_dpo.py can be read as launch-bound, CPU-bound or kernel-bound.
`--tiny` checks the script on the CPU.
    python bench/gpu_profile.py [--tiny] [--pairs N] [--batch-size B]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from dpo_vs_trl import HP, build_pairs
from gpu_dpo import QWEN2_05B, QWEN2_TINY, build_qwen2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--pairs", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--wait", type=int, default=6, help="steps before profiling (warm-up included)")
    parser.add_argument("--active", type=int, default=4, help="profiled steps")
    args = parser.parse_args()
    import torch
    from torch.profiler import ProfilerActivity, profile, schedule

    from ml.adapters import load_tokenizer
    from ml.config import PreferenceExample, TrainConfig, TrainJob
    from ml.train import train_dpo

    device = "cpu" if args.tiny else "cuda"
    steps = args.wait + 2 + args.active
    n_pairs = args.pairs or steps * args.batch_size
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device == "cuda" else [])
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        build_qwen2(work / "base", QWEN2_TINY if args.tiny else QWEN2_05B)
        pairs = build_pairs(load_tokenizer(str(work / "base")), n_pairs)
        hp = {**HP, "batch_size": args.batch_size}
        cfg = TrainConfig(epochs=1, max_steps=steps, lr_schedule="linear", device=device, **hp)
        job = TrainJob(base_model_path=str(work / "base"), examples=tuple(PreferenceExample(**p) for p in pairs),
                       config=cfg, output_dir=str(work / "out"))
        walls: list[float] = []
        last = [time.perf_counter()]

        def on_step(record: dict) -> None:
            now = time.perf_counter()
            walls.append(now - last[0])
            last[0] = now
            prof.step()

        with profile(activities=activities, schedule=schedule(wait=args.wait, warmup=2, active=args.active)) as prof:
            train_dpo(job, progress=on_step)
    profiled = walls[args.wait + 2 : args.wait + 2 + args.active]
    events = prof.key_averages()
    print(f"device={'cpu' if args.tiny else torch.cuda.get_device_name(0)}")
    print(f"profiled_steps={len(profiled)}")
    print("step_wall_ms=" + ",".join(f"{w * 1000:.0f}" for w in walls))
    print(f"profiled_wall_ms={sum(profiled) * 1000:.0f}")
    if device == "cuda":
        print(events.table(sort_by="self_cuda_time_total", row_limit=15, max_name_column_width=60))
    print(events.table(sort_by="self_cpu_time_total", row_limit=15, max_name_column_width=60))


if __name__ == "__main__":
    main()
