"""Process-wide kernel choices on CUDA.

cuDNN's fused attention builds an execution plan for every new (batch, length) shape, and packed
training batches and growing decode steps make almost every call a new shape (its CPU cost per
call is in bench/RESULTS.md); FlashAttention and the memory-efficient kernel have no per-shape
plan, so cuDNN's backend is switched off.
"""
from __future__ import annotations

import torch


def configure_attention(device: torch.device) -> None:
    """Keep SDPA off cuDNN attention in this process when `device` is a GPU (no-op on the CPU)."""
    if device.type == "cuda":
        torch.backends.cuda.enable_cudnn_sdp(False)
