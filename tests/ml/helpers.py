"""Small builders used by several ML tests."""
from __future__ import annotations

import torch

from ml.adapters import attach_adapter, load_base_model
from ml.config import PreferenceExample, TrainConfig

PRODUCTS = ["shoes", "candles", "headphones", "backpacks", "dresses", "watches", "cold brew", "sneakers"]


def marketing_pairs(n: int, *, holdout: int = 0, seed: int = 0) -> list[PreferenceExample]:
    """Separable pairs: the chosen headline always offers a discount, the rejected one never does."""
    import random

    rng = random.Random(seed)
    out = []
    for i in range(n + holdout):
        product = rng.choice(PRODUCTS)
        prompt = f"Brand: Acme {i}\nVoice: friendly\nChannel: headline\nProduct: {product}\nWrite:"
        chosen = f"Save {rng.choice([10, 20, 30])}% on {product} today"
        rejected = rng.choice([f"Meet our {product}", f"New {product} are here", f"Why not {product}?"])
        out.append(PreferenceExample(prompt, chosen, rejected, split="train" if i < n else "holdout"))
    return out


def adapter_model(base_path: str, *, seed: int = 0, perturb: float = 0.0, config: TrainConfig | None = None):
    """A fresh LoRA on the tiny base; `perturb` > 0 moves lora_B off zero so policy != reference."""
    torch.manual_seed(seed)
    model = attach_adapter(load_base_model(base_path, torch.device("cpu")), config or TrainConfig(lora_rank=8),
                           base_model_path=base_path, parent_adapter_path=None)
    if perturb:
        with torch.no_grad():
            for name, param in model.named_parameters():
                if "lora_B" in name:
                    param.normal_(0.0, perturb)
    return model
