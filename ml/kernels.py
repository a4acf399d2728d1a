"""Process-wide kernel choices on CUDA.

cuDNN's fused attention (one of PyTorch's SDPA backends, preferred on Hopper) builds an execution
plan for every new (batch, length) shape. Training batches here are packed to the lengths they
hold and decode steps grow by one token, so almost every call is a new shape: on an H200,
bench/gpu_profile.py measured 12-14 ms of CPU per attention call, about 0.6 s a step for a
24-layer model whose kernels ran 36 ms (bench/RESULTS.md). FlashAttention and the
memory-efficient kernel have no per-shape plan, so cuDNN's backend is switched off.
"""
from __future__ import annotations

import torch


def configure_attention(device: torch.device) -> None:
    """Keep SDPA off cuDNN attention in this process when `device` is a GPU (no-op on the CPU)."""
    if device.type == "cuda":
        torch.backends.cuda.enable_cudnn_sdp(False)
