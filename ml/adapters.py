"""Loading the base model, attaching or continuing a LoRA adapter, and publishing it.

Adapters are plain peft LoRA: `adapter_config.json` + `adapter_model.safetensors`, no
`modules_to_save`, `base_model_name_or_path` set, rank from vLLM's set, so peft and vLLM
load them unchanged.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch

from ml.config import TrainConfig
from ml.kernels import configure_attention


def pick_device(requested: str | None) -> torch.device:
    """`requested`, or cuda when available, else cpu."""
    if requested:
        return torch.device(requested)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_base_model(path: str, device: torch.device):
    """The frozen base causal LM: bf16 weights on GPU (autocast does the rest), fp32 on CPU."""
    from transformers import AutoModelForCausalLM

    configure_attention(device)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, attn_implementation="sdpa")
    model.requires_grad_(False)
    return model.to(device)


def load_tokenizer(path: str):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def present_target_modules(model: torch.nn.Module, wanted: tuple[str, ...]) -> list[str]:
    """The names in `wanted` that some linear layer of the model ends with."""
    names = {name.rsplit(".", 1)[-1] for name, mod in model.named_modules() if isinstance(mod, torch.nn.Linear)}
    found = [w for w in wanted if w in names]
    if not found:
        raise ValueError(f"none of the target modules {wanted} exist in this model")
    return found


def attach_adapter(base, config: TrainConfig, *, base_model_path: str, parent_adapter_path: str | None):
    """A trainable PeftModel: a fresh LoRA (B = 0, so it starts equal to the base) or the parent's weights."""
    from peft import LoraConfig, PeftModel, get_peft_model

    if parent_adapter_path:
        model = PeftModel.from_pretrained(base, parent_adapter_path, is_trainable=True)
        model.peft_config["default"].base_model_name_or_path = base_model_path
        return model
    lora = LoraConfig(
        r=config.lora_rank,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=present_target_modules(base, config.target_modules),
        bias="none",
        task_type="CAUSAL_LM",
        base_model_name_or_path=base_model_path,
    )
    return get_peft_model(base, lora)


def save_adapter(model, out_dir: str | Path, *, base_model_path: str) -> Path:
    """Publish the adapter atomically: write next to `out_dir`, fsync, then rename into place."""
    out = Path(out_dir)
    tmp = out.with_name(out.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    model.peft_config["default"].base_model_name_or_path = base_model_path
    model.save_pretrained(str(tmp), safe_serialization=True)
    cfg_path = tmp / "adapter_config.json"
    cfg = json.loads(cfg_path.read_text())
    if cfg.get("modules_to_save"):
        raise ValueError("adapter has modules_to_save; vLLM cannot serve it")
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        with open(tmp / name, "rb") as fh:
            os.fsync(fh.fileno())
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    return out
