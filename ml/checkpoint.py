"""Resumable checkpoints: one self-describing directory per save, no pickle.

    step-000120/
      adapter/                      the peft adapter at this step (loadable on its own)
      optimizer.safetensors         AdamW moments, flattened as state.<param index>.<name>
      reference_logps.safetensors   cached reference log-probs, so a resume reuses them exactly
      rng.safetensors               torch CPU (and CUDA) generator states, for dropout
      state.json                    step, data position, optimizer param groups, config, metrics so far

The learning-rate schedule is a pure function of the step, so "scheduler state" is the step.
Writes go to a temporary directory that is renamed into place, so a reader never sees half a
checkpoint.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ml.config import TrainConfig

STATE_FILE = "state.json"


@dataclass
class TrainingState:
    """Where a run stands, besides weights and optimizer moments."""

    step: int  # optimizer steps done
    micro_batches: int  # micro-batches consumed since the start (the data position)
    history: list[dict]  # progress dicts so far


def save_checkpoint(
    directory: str | Path,
    *,
    model,
    optimizer: torch.optim.Optimizer,
    reference: dict[str, torch.Tensor],
    state: TrainingState,
    config: TrainConfig,
    base_model_path: str,
) -> Path:
    """Write `directory/step-NNNNNN` atomically and return it."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{state.step:06d}"
    tmp = root / f".step-{state.step:06d}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    model.peft_config["default"].base_model_name_or_path = base_model_path
    model.save_pretrained(str(tmp / "adapter"), safe_serialization=True)
    opt_state = optimizer.state_dict()
    tensors = {
        f"state.{idx}.{name}": value.detach().cpu().contiguous()
        for idx, slots in opt_state["state"].items()
        for name, value in slots.items()
    }
    save_file(tensors, str(tmp / "optimizer.safetensors"))
    save_file({k: v.detach().cpu().contiguous() for k, v in reference.items()}, str(tmp / "reference_logps.safetensors"))
    rng = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state()
    save_file(rng, str(tmp / "rng.safetensors"))
    meta = {
        "format": "prefcontent-dpo-checkpoint/1",
        "step": state.step,
        "micro_batches": state.micro_batches,
        "history": state.history,
        "param_groups": opt_state["param_groups"],
        "config": asdict(config),
        "base_model_path": base_model_path,
    }
    (tmp / STATE_FILE).write_text(json.dumps(meta, indent=1))
    for path in tmp.rglob("*"):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return final


# Fields that may change between a run and its resumption without changing the trajectory.
_RESUMABLE_CHANGES = {"checkpoint_every", "eval_every", "device"}


def load_checkpoint(
    path: str | Path, *, model, optimizer: torch.optim.Optimizer, device: torch.device, config: TrainConfig
) -> tuple[TrainingState, dict[str, torch.Tensor]]:
    """Restore adapter weights, optimizer and RNG in place; return the state and reference log-probs."""
    from peft import set_peft_model_state_dict

    ckpt = Path(path)
    meta = json.loads((ckpt / STATE_FILE).read_text())
    saved, now = meta["config"], json.loads(json.dumps(asdict(config)))
    changed = sorted(k for k in now if k not in _RESUMABLE_CHANGES and saved.get(k) != now[k])
    if changed:
        raise ValueError(f"checkpoint {ckpt} was written with a different config: {changed}")
    weights = load_file(str(ckpt / "adapter" / "adapter_model.safetensors"), device=str(device))
    result = set_peft_model_state_dict(model, weights)
    if getattr(result, "unexpected_keys", None):
        raise ValueError(f"checkpoint adapter does not fit this model: {result.unexpected_keys[:3]}")
    flat = load_file(str(ckpt / "optimizer.safetensors"), device=str(device))
    slots: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in flat.items():
        _, idx, name = key.split(".", 2)
        slots.setdefault(int(idx), {})[name] = value
    groups = meta["param_groups"]
    for group in groups:
        if "betas" in group:
            group["betas"] = tuple(group["betas"])
    optimizer.load_state_dict({"state": slots, "param_groups": groups})
    rng = load_file(str(ckpt / "rng.safetensors"))
    torch.set_rng_state(rng["cpu"])
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state(rng["cuda"])
    reference = load_file(str(ckpt / "reference_logps.safetensors"), device=str(device))
    state = TrainingState(step=meta["step"], micro_batches=meta["micro_batches"], history=meta["history"])
    return state, reference


def latest_checkpoint(directory: str | Path) -> Path | None:
    """The highest step-NNNNNN directory under `directory`, if any."""
    root = Path(directory)
    if not root.is_dir():
        return None
    found = sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("step-"))
    return found[-1] if found else None
