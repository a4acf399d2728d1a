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
    if tokenizer.pad_token_id is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


# Every attention and MLP projection, by transformers model_type. Architectures not listed get every
# Linear / Conv1D inside their blocks except routers (see lora_targets).
ARCHITECTURE_TARGETS = {
    **dict.fromkeys(("llama", "mistral", "mixtral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text", "olmo",
                     "olmo2", "granite", "smollm3", "cohere", "stablelm", "starcoder2_llama"),
                    ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")),
    "phi3": ("qkv_proj", "o_proj", "gate_up_proj", "down_proj"),
    "phi": ("q_proj", "k_proj", "v_proj", "dense", "fc1", "fc2"),
    "gpt_neox": ("query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"),
    "gpt2": ("c_attn", "c_proj", "c_fc"),  # transformers Conv1D: weights stored (in, out)
    "starcoder2": ("q_proj", "k_proj", "v_proj", "o_proj", "c_fc", "c_proj"),
    "falcon": ("query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"),
}
_NEVER = ("lm_head", "embed_out", "wte", "wpe", "embed_tokens", "router", "gate")  # heads, embeddings, MoE routers


def _is_conv1d(module: torch.nn.Module) -> bool:
    return type(module).__name__ == "Conv1D" and hasattr(module, "nf")


def adaptable_modules(model: torch.nn.Module) -> dict[str, torch.nn.Module]:
    """Full name -> module of every Linear or transformers Conv1D (GPT-2's projections) of the model."""
    return {name: m for name, m in model.named_modules() if isinstance(m, torch.nn.Linear) or _is_conv1d(m)}


def lora_targets(model: torch.nn.Module, wanted: tuple[str, ...] = ()) -> tuple[list[str], bool]:
    """The module names a LoRA adapts on `model`, and whether they are Conv1D (peft's fan_in_fan_out).

    `wanted` empty means every projection of the architecture's blocks; named modules the model
    lacks are skipped. A mix of Linear and Conv1D targets is refused: peft's flag is per adapter.
    """
    modules = adaptable_modules(model)
    leaves: dict[str, list[torch.nn.Module]] = {}
    for name, module in modules.items():
        leaves.setdefault(name.rsplit(".", 1)[-1], []).append(module)
    if not wanted:
        model_type = getattr(getattr(model, "config", None), "model_type", "")
        wanted = ARCHITECTURE_TARGETS.get(model_type) or tuple(
            leaf for leaf, mods in leaves.items()
            if leaf not in _NEVER and any("." in n and n.rsplit(".", 1)[-1] == leaf and _in_block(n) for n in modules))
    found = [w for w in wanted if w in leaves]
    if not found:
        raise ValueError(f"none of the target modules {tuple(wanted)} exist in this model")
    kinds = {_is_conv1d(m) for leaf in found for m in leaves[leaf]}
    if len(kinds) > 1:
        raise ValueError(f"target modules {found} mix Linear and Conv1D layers; adapt one kind at a time")
    return found, kinds == {True}


def _in_block(name: str) -> bool:
    """A module inside a numbered transformer block (`...layers.3.mlp.up_proj`, `h.0.attn.c_attn`)."""
    return any(part.isdigit() for part in name.split("."))


def attach_adapter(base, config: TrainConfig, *, base_model_path: str, parent_adapter_path: str | None):
    """A trainable PeftModel: a fresh LoRA (B = 0, so it starts equal to the base) or the parent's weights."""
    from peft import LoraConfig, PeftModel, get_peft_model

    if parent_adapter_path:
        model = PeftModel.from_pretrained(base, parent_adapter_path, is_trainable=True)
        model.peft_config["default"].base_model_name_or_path = base_model_path
        return model
    targets, fan_in_fan_out = lora_targets(base, config.target_modules)
    lora = LoraConfig(
        r=config.lora_rank,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=targets,
        fan_in_fan_out=fan_in_fan_out,
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
