"""Plain dataclasses that cross the line between the Django side and the ML worker.

`TrainJob` goes in, `TrainResult` comes out of `ml.train.train_dpo`. Nothing here
imports torch, so the facade in `prefcontent.training` can build jobs cheaply.
"""
from __future__ import annotations

from dataclasses import dataclass, field

LOSS_TYPES = ("sigmoid", "ipo", "hinge", "cdpo", "robust")
F_DIVERGENCES = ("reverse_kl", "js_divergence")  # see ml.losses
LORA_RANKS = (8, 16, 32, 64)
SPLITS = ("train", "holdout")


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of one LoRA DPO run."""

    beta: float = 0.1  # strength of the KL anchor to the reference model
    loss_type: str = "sigmoid"  # one of LOSS_TYPES
    label_smoothing: float = 0.0  # assumed label-flip rate for "cdpo" and "robust" (0 <= eps < 0.5)
    # How the log-ratios to the reference enter the loss (ml.losses): "reverse_kl" (DPO) or "js_divergence",
    # which stops rewarding a winner once it is likely and so keeps the base model's spread.
    f_divergence: str = "reverse_kl"
    # Weight of the chosen text's per-token NLL added to the loss (RPO; 0: plain DPO). 1.0 with lr 5e-4 makes a
    # real model end its copy: on SmolLM2 after 8 steps, P(end of turn) after a winner 0.60 (plain DPO at
    # 5e-5: 0.007) and 75 % of headlines ended by their end token (36 %); bench/ending.py, RESULTS.md.
    rpo_alpha: float = 1.0
    # Weight of the penalty on next-token entropy lost against the reference at the pairs' positions (ml.losses;
    # 0: none). It keeps the spread that the NLL term's imitation of a few winning phrasings takes away.
    entropy_floor: float = 0.0
    lr: float = 5e-4  # peak AdamW learning rate
    weight_decay: float = 0.0  # AdamW decoupled weight decay
    warmup_steps: int = 0  # linear warm-up from 0 to `lr` over this many optimizer steps
    lr_schedule: str = "cosine"  # decay after warm-up: "cosine", "linear" or "constant"
    epochs: int = 1  # passes over the train split (ignored when max_steps is set)
    max_steps: int | None = None  # optimizer steps to run; overrides epochs
    batch_size: int = 8  # pairs per micro-batch
    grad_accum: int = 1  # micro-batches per optimizer step
    max_grad_norm: float = 1.0  # clip the global gradient norm to this (0 disables clipping)
    lora_rank: int = 16  # LoRA r, one of LORA_RANKS (the ranks vLLM serves)
    lora_alpha: int = 32  # LoRA scaling numerator (scale = alpha / r)
    lora_dropout: float = 0.0  # dropout on the LoRA branch input
    target_modules: tuple[str, ...] = ()  # module names to adapt (absent ones skipped); (): every projection of
    # the architecture's blocks (ml.adapters.lora_targets)
    max_prompt_tokens: int = 512  # prompt budget incl. BOS; longer prompts keep BOS + their last tokens
    max_completion_tokens: int = 128  # completion budget incl. EOS; longer completions keep their first tokens
    checkpoint_every: int = 0  # save a resumable checkpoint every N optimizer steps (0: never)
    eval_every: int = 0  # evaluate the holdout split every N steps (0: only at the end)
    seed: int = 0  # seeds data order, LoRA init and dropout
    bucket_size: int = 64  # batches are formed from length-sorted windows of bucket_size * batch_size pairs
    device: str | None = None  # "cpu", "cuda", ...; None picks cuda when available

    def __post_init__(self) -> None:
        if self.loss_type not in LOSS_TYPES:
            raise ValueError(f"loss_type must be one of {LOSS_TYPES}, got {self.loss_type!r}")
        if self.f_divergence not in F_DIVERGENCES:
            raise ValueError(f"f_divergence must be one of {F_DIVERGENCES}, got {self.f_divergence!r}")
        if self.lora_rank not in LORA_RANKS:
            raise ValueError(f"lora_rank must be one of {LORA_RANKS}, got {self.lora_rank}")
        if not 0.0 <= self.label_smoothing < 0.5:
            raise ValueError("label_smoothing must be in [0, 0.5)")
        if self.lr_schedule not in ("cosine", "linear", "constant"):
            raise ValueError(f"unknown lr_schedule {self.lr_schedule!r}")
        if self.beta <= 0:
            raise ValueError("beta must be positive")
        if self.rpo_alpha < 0:
            raise ValueError("rpo_alpha must be >= 0")
        if self.entropy_floor < 0:
            raise ValueError("entropy_floor must be >= 0")
        if self.batch_size < 1 or self.grad_accum < 1 or self.epochs < 1:
            raise ValueError("batch_size, grad_accum and epochs must be >= 1")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError("max_steps must be >= 1")
        if self.max_prompt_tokens < 2 or self.max_completion_tokens < 1:
            raise ValueError("max_prompt_tokens must be >= 2 and max_completion_tokens >= 1")


@dataclass(frozen=True)
class PreferenceExample:
    """One preference pair: for `prompt`, `chosen` beat `rejected`."""

    prompt: str  # the rendered brief, e.g. "Brand: X\\nVoice: ...\\nWrite:"
    chosen: str  # the winning completion text
    rejected: str  # the losing completion text
    weight: float = 1.0  # evidence weight; the loss is a weight-normalised mean over pairs
    split: str = "train"  # "train" or "holdout"
    # Whether the chosen text is one to imitate: RPO's NLL term (`rpo_alpha`) applies to it. False for a
    # rule repair, whose chosen side is an edit of a generated text rather than an observed winner: its
    # pair should teach the difference (30 % rather than 50 %), not "write more texts like this one".
    imitate: bool = True

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {self.split!r}")
        if self.weight < 0:
            raise ValueError("weight must be >= 0")
        if not isinstance(self.imitate, bool):  # a JSONL "false" string must not read as true
            raise TypeError(f"imitate must be true or false, got {self.imitate!r}")


@dataclass(frozen=True)
class TrainJob:
    """Everything `train_dpo` needs; paths are local directories."""

    base_model_path: str  # Hugging Face model directory (also written as the adapter's base_model_name_or_path)
    examples: tuple[PreferenceExample, ...]  # train and holdout pairs together
    config: TrainConfig = field(default_factory=TrainConfig)
    output_dir: str = "adapter"  # where the final peft adapter is published
    parent_adapter_path: str | None = None  # continue this adapter; it is also the reference model
    checkpoint_dir: str | None = None  # where step-NNNNNN checkpoints go (None: no checkpoints)
    resume_from: str | None = None  # a checkpoint directory to continue from, or "latest" in checkpoint_dir


@dataclass(frozen=True)
class TrainResult:
    """What a run produced."""

    adapter_dir: str | None  # the published adapter, None when cancelled
    steps: int  # optimizer steps completed
    history: list[dict] = field(default_factory=list)  # one progress dict per optimizer step
    holdout: dict = field(default_factory=dict)  # reward_accuracy, reward_margin, chosen_logps_mean, ... ({} if no holdout)
    cancelled: bool = False  # True when should_cancel() stopped the run
    checkpoint_dir: str | None = None  # the last checkpoint written, if any
