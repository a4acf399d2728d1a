"""The one door between the training domain and ml: rows in, dataclasses across, results back.

Nothing else in prefcontent imports ml for training. The heavy imports (torch,
transformers, peft) happen inside the functions, so the web process never loads them.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

from prefcontent.content.channels import channel_form

# Fields of TrainConfig a client may set; the rest (device, bucketing, token budgets) are the operator's.
CLIENT_HYPERPARAMETERS = (
    "beta", "loss_type", "label_smoothing", "f_divergence", "rpo_alpha", "entropy_floor", "lr", "weight_decay", "warmup_steps", "lr_schedule", "epochs",
    "max_steps", "batch_size", "grad_accum", "max_grad_norm", "lora_rank", "lora_alpha", "lora_dropout",
    "checkpoint_every", "eval_every", "seed",
)


def train_config_choices() -> tuple[tuple[str, ...], tuple[str, ...], tuple[int, ...]]:
    """(loss types, f-divergences, LoRA ranks) that TrainConfig accepts (ml.config imports no torch)."""
    from ml.config import F_DIVERGENCES, LORA_RANKS, LOSS_TYPES

    return LOSS_TYPES, F_DIVERGENCES, LORA_RANKS


def train_config(hyperparameters: dict):
    """A validated TrainConfig (ValueError / TypeError when a value is not acceptable)."""
    from ml.config import TrainConfig

    known = {f.name for f in fields(TrainConfig)}
    unknown = set(hyperparameters) - known
    if unknown:
        raise ValueError(f"unknown hyperparameters: {sorted(unknown)}")
    return TrainConfig(**hyperparameters)


def config_dict(config) -> dict:
    from dataclasses import asdict

    data = asdict(config)
    data["target_modules"] = list(data["target_modules"])
    return data


def train_job(*, base_model_path: str, examples: Sequence, hyperparameters: dict, output_dir: Path,
              checkpoint_dir: Path, parent_adapter_dir: Path | None, resume: bool):
    """The TrainJob of one attempt of a run; `resume` continues from the newest checkpoint."""
    from ml.config import TrainJob

    params = dict(hyperparameters)
    if "target_modules" in params:
        params["target_modules"] = tuple(params["target_modules"])
    return TrainJob(
        base_model_path=base_model_path, examples=tuple(examples), config=train_config(params),
        output_dir=str(output_dir), parent_adapter_path=str(parent_adapter_dir) if parent_adapter_dir else None,
        checkpoint_dir=str(checkpoint_dir), resume_from="latest" if resume else None,
    )


def run_training(job, *, progress: Callable[[dict], None], should_cancel: Callable[[], bool]):
    from ml.train import train_dpo

    return train_dpo(job, progress=progress, should_cancel=should_cancel)


def latest_checkpoint_name(checkpoint_dir: Path) -> str | None:
    from ml.checkpoint import latest_checkpoint

    found = latest_checkpoint(checkpoint_dir)
    return found.name if found else None


def adapter_checksum(directory: Path) -> str:
    from ml.serving import dir_checksum

    return dir_checksum(directory)


@dataclass(frozen=True)
class GateAdapter:
    """An adapter the gate generates with: a local directory and its published checksum."""

    adapter_id: str  # key in the engine's adapter cache
    path: Path  # local peft directory
    sha256: str | None  # verified on load when set


@dataclass(frozen=True)
class GateGenerations:
    """Aligned generations: index i of each list answers the same prompt with the same seed."""

    prompts: list[str]
    base: list[str]
    candidate: list[str]
    baseline: list[str] | None  # the active adapter's, when the brand has one


def generate_for_gate(*, base_model_path: str, prompts: Sequence[str], candidate: GateAdapter,
                      baseline: GateAdapter | None, samples_per_prompt: int, max_new_tokens: int,
                      temperature: float, seed: int, channels: Sequence[str] | None = None,
                      sampling: Sequence[tuple[float, float] | None] | None = None) -> GateGenerations:
    """Sample the base, the candidate (and the active adapter) on the same prompts and seeds, each
    prompt ending where its channel's copy ends (prefcontent.content.channels), as generation serves it.
    `sampling`: per prompt, the (temperature, top_p) to sample it at; None (or a None entry) for
    `temperature` and top_p 0.95.

    A private engine, closed afterwards: the gate runs once per training, and a long-lived
    engine in the training worker would hold a second copy of the base model for nothing.
    """
    import torch

    from ml.serving import Engine, EngineConfig, GenerateRequest

    shapes = [channel_form(c) for c in (channels if channels is not None else ["headline"] * len(prompts))]
    sampled_at = [s if s is not None else (temperature, 0.95) for s in (sampling or [None] * len(prompts))]

    cuda = torch.cuda.is_available()
    engine = Engine(base_model_path, EngineConfig(max_adapters=2, device="cuda" if cuda else "cpu",
                                                  dtype="bfloat16" if cuda else "float32"))
    try:
        def sample(adapter: GateAdapter | None) -> list[str]:
            futures = [
                engine.submit(GenerateRequest(
                    prompt=prompt, n=samples_per_prompt, temperature=sampled_at[i][0], top_p=sampled_at[i][1],
                    max_new_tokens=max_new_tokens, seed=seed + i,
                    one_line=shapes[i].one_line, max_chars=shapes[i].max_chars,
                    adapter_id=adapter.adapter_id if adapter else None,
                    adapter_path=str(adapter.path) if adapter else None,
                    adapter_sha256=adapter.sha256 if adapter else None,
                ))
                for i, prompt in enumerate(prompts)
            ]
            return [text for future in futures for text in future.result().texts]

        base = sample(None)
        cand = sample(candidate)
        base_line = sample(baseline) if baseline else None
    finally:
        engine.close()
    aligned = [p for p in prompts for _ in range(samples_per_prompt)]
    return GateGenerations(prompts=aligned, base=base, candidate=cand, baseline=base_line)
