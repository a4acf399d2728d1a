"""Random (untrained) LoRA adapters for tests and benchmarks of the serving engine.

`init_lora_weights=False` gives non-zero B matrices, so each adapter changes the model's
outputs the way a trained one would, without any training.
"""
from __future__ import annotations

from pathlib import Path

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

from ml.adapters import lora_targets


def make_random_adapter(base_model_dir: str | Path, out_dir: str | Path, *, seed: int, rank: int = 8) -> Path:
    """Save a randomly initialised peft LoRA adapter for `base_model_dir` under `out_dir`."""
    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(str(base_model_dir))
    targets, fan_in_fan_out = lora_targets(base)
    config = LoraConfig(
        r=rank,
        lora_alpha=2 * rank,  # scaling 2, so a backend that ignores scaling is caught
        target_modules=targets,
        fan_in_fan_out=fan_in_fan_out,
        lora_dropout=0.0,
        init_lora_weights=False,
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(base, config)
    model.save_pretrained(str(out_dir))
    return Path(out_dir)
