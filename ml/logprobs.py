"""Completion log-probabilities with the prompt computed once.

A row holds one prompt followed by K completions: `[prompt | c_1 | c_2 | ... | c_K | pad]`.
A block attention mask lets every completion see the prompt and its own earlier tokens but
never another completion, and position ids restart at len(prompt) for each completion, so
each completion is scored exactly as if it were the only one after the prompt. For a DPO
pair K = 2 (chosen, rejected); the scoring API uses K = number of candidates.

Only the hidden states at completion positions go through the LM head, and the
log-softmax runs in fp32: the prompt, usually much longer than a headline, costs one
transformer pass and no vocabulary projection at all.
"""
from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

import torch


@dataclass
class PackedBatch:
    """Tensors for one forward pass over packed rows."""

    input_ids: torch.Tensor  # (B, L) token ids, right-padded
    position_ids: torch.Tensor  # (B, L) restarting at len(prompt) for every completion
    segments: torch.Tensor  # (B, L) 0 for prompt, k for completion k (1-based), -1 for padding
    target_pos: torch.Tensor  # (B, K, T) sequence position whose logits predict each completion token
    target_ids: torch.Tensor  # (B, K, T) the completion tokens
    target_mask: torch.Tensor  # (B, K, T) 1.0 for real completion tokens, 0.0 for padding
    n_tokens: int  # real (non-pad) tokens in the batch, for throughput

    def attention_mask(self, attn_implementation: str, dtype: torch.dtype) -> torch.Tensor:
        """(B, 1, L, L) mask: boolean (True = attend) for sdpa, additive float for eager."""
        seg = self.segments
        length = seg.shape[1]
        idx = torch.arange(length, device=seg.device)
        causal = idx[None, :] <= idx[:, None]
        seg_q, seg_k = seg[:, :, None], seg[:, None, :]
        allowed = causal & ((seg_k == 0) | (seg_k == seg_q)) & (seg_k >= 0)
        # Padding queries see only themselves, so no softmax row is empty (NaN); their outputs are unused.
        allowed = allowed | torch.eye(length, dtype=torch.bool, device=seg.device)
        allowed = allowed[:, None, :, :]
        if attn_implementation == "eager":
            return torch.zeros(allowed.shape, dtype=dtype, device=seg.device).masked_fill(
                ~allowed, torch.finfo(dtype).min
            )
        return allowed


def pack_rows(
    rows: Sequence[tuple[Sequence[int], Sequence[Sequence[int]]]], *, pad_id: int, device: torch.device | str
) -> PackedBatch:
    """Pack (prompt_ids, [completion_ids, ...]) rows; every row must have the same number of completions."""
    n_comp = len(rows[0][1])
    if any(len(comps) != n_comp for _, comps in rows):
        raise ValueError("every row needs the same number of completions")
    if any(len(prompt) == 0 for prompt, _ in rows) or any(len(c) == 0 for _, comps in rows for c in comps):
        raise ValueError("prompts and completions must be non-empty")
    length = max(len(p) + sum(len(c) for c in comps) for p, comps in rows)
    max_t = max(len(c) for _, comps in rows for c in comps)
    b = len(rows)
    input_ids = torch.full((b, length), pad_id, dtype=torch.long)
    position_ids = torch.zeros((b, length), dtype=torch.long)
    segments = torch.full((b, length), -1, dtype=torch.long)
    target_pos = torch.zeros((b, n_comp, max_t), dtype=torch.long)
    target_ids = torch.zeros((b, n_comp, max_t), dtype=torch.long)
    target_mask = torch.zeros((b, n_comp, max_t), dtype=torch.float32)
    n_tokens = 0
    for r, (prompt, comps) in enumerate(rows):
        p = len(prompt)
        input_ids[r, :p] = torch.tensor(prompt)
        position_ids[r, :p] = torch.arange(p)
        segments[r, :p] = 0
        start = p
        for k, comp in enumerate(comps):
            t = len(comp)
            input_ids[r, start : start + t] = torch.tensor(comp)
            position_ids[r, start : start + t] = torch.arange(p, p + t)
            segments[r, start : start + t] = k + 1
            # Token 0 of every completion is predicted from the last prompt position; token j from its own j-1.
            target_pos[r, k, 0] = p - 1
            target_pos[r, k, 1:t] = torch.arange(start, start + t - 1)
            target_ids[r, k, :t] = torch.tensor(comp)
            target_mask[r, k, :t] = 1.0
            start += t
        n_tokens += start
    return PackedBatch(
        input_ids=input_ids.to(device),
        position_ids=position_ids.to(device),
        segments=segments.to(device),
        target_pos=target_pos.to(device),
        target_ids=target_ids.to(device),
        target_mask=target_mask.to(device),
        n_tokens=n_tokens,
    )


def autocast_for(device: torch.device):
    """bf16 autocast on GPU; plain fp32 on CPU. The log-softmax runs in fp32 either way."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def causal_lm_of(model: torch.nn.Module) -> torch.nn.Module:
    """The transformers *ForCausalLM inside a peft wrapper (LoRA layers stay injected), or the model itself."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def completion_logps(model: torch.nn.Module, batch: PackedBatch, *, entropies: bool = False) -> tuple[torch.Tensor, ...]:
    """Summed log-probs (B, K) in fp32 of every completion, and their token counts (B, K); with
    `entropies`, also the next-token entropy (B, K, T) at every completion position (0 on padding)."""
    lm = causal_lm_of(model)
    attn_impl = getattr(lm.config, "_attn_implementation", None) or "sdpa"
    param_dtype = next(lm.parameters()).dtype
    dev = batch.input_ids.device.type
    mask_dtype = torch.get_autocast_dtype(dev) if torch.is_autocast_enabled(dev) else param_dtype
    hidden = lm.get_decoder()(
        input_ids=batch.input_ids,
        attention_mask=batch.attention_mask(attn_impl, mask_dtype),
        position_ids=batch.position_ids,
        use_cache=False,
    ).last_hidden_state
    b, k, t = batch.target_pos.shape
    index = batch.target_pos.reshape(b, k * t, 1).expand(-1, -1, hidden.shape[-1])
    logits = lm.get_output_embeddings()(hidden.gather(1, index))
    softcap = getattr(lm.config, "final_logit_softcapping", None)
    if softcap:
        logits = torch.tanh(logits.float() / softcap) * softcap
    return target_logps(logits, batch, entropies=entropies)


def forward_kwargs(batch: PackedBatch, attn_implementation: str, dtype: torch.dtype) -> dict:
    """Keyword arguments of a *ForCausalLM forward that returns logits at the target positions only.

    For callers that must go through the full model (the serving engine's LoRA hooks wrap its
    forward): `logits_to_keep` gathers the hidden states before the LM head, as completion_logps does.
    """
    b, k, t = batch.target_pos.shape
    return {
        "input_ids": batch.input_ids,
        "attention_mask": batch.attention_mask(attn_implementation, dtype),
        "position_ids": batch.position_ids,
        "logits_to_keep": batch.target_pos.reshape(b, k * t),
        "use_cache": False,
    }


def target_logps(logits: torch.Tensor, batch: PackedBatch, *, entropies: bool = False) -> tuple[torch.Tensor, ...]:
    """Summed fp32 log-probs (B, K) of the target tokens from logits (B, K * T, V) at the target positions,
    their counts (B, K), and with `entropies` the entropy of each position's distribution (B, K, T)."""
    b, k, t = batch.target_pos.shape
    logits = logits.float()
    lse = torch.logsumexp(logits, dim=-1)
    picked = logits.gather(-1, batch.target_ids.reshape(b, k * t, 1).to(logits.device)).squeeze(-1)
    token_logps = (picked - lse).reshape(b, k, t)
    mask = batch.target_mask.to(logits.device)
    if not entropies:
        return (token_logps * mask).sum(-1), mask.sum(-1)
    entropy = (lse - (torch.softmax(logits, dim=-1) * logits).sum(-1)).reshape(b, k, t) * mask
    return (token_logps * mask).sum(-1), mask.sum(-1), entropy
