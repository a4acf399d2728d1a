"""Implicit DPO reward of candidate completions: beta * (log pi_adapter - log pi_reference).

The reference is the base model with the adapter disabled, as in DPO training, so a
candidate the adapter learned to prefer scores above one it learned to avoid. Candidates are
scored as training scores pairs (ml/logprobs.py): the prompt once per row, the candidates after
it under a block mask, and the LM head only at the candidates' positions.
"""
from __future__ import annotations

import torch

from ml.logprobs import forward_kwargs, pack_rows, target_logps
from ml.serving.batch import ForwardFn
from ml.serving.lora import BASE

ROW_TOKENS = 2048  # candidates go into rows of about this many tokens (the block mask grows with its square)


def _rows(prompt_ids: list[int], completions: list[list[int]], filler: int) -> tuple[list[tuple], int]:
    """Rows of (prompt, candidates) with the same candidate count each; the last one filled up with 1-token dummies."""
    total = sum(len(c) for c in completions)
    n_rows = max(1, min(len(completions), -(-total // max(1, ROW_TOKENS - len(prompt_ids)))))
    per_row = -(-len(completions) // n_rows)
    chunks = [completions[i : i + per_row] for i in range(0, len(completions), per_row)]
    chunks[-1] = chunks[-1] + [[filler]] * (per_row - len(chunks[-1]))
    return [(prompt_ids, chunk) for chunk in chunks], per_row


def completion_logprobs(
    forward: ForwardFn,
    adapter_names: list[str],
    prompt_ids: list[int],
    completions: list[list[int]],
    *,
    pad_id: int,
    attn_implementation: str = "sdpa",
    dtype: torch.dtype = torch.float32,
) -> list[list[float]]:
    """Summed log-prob of each completion after `prompt_ids`, once under each of `adapter_names`.

    Returns one list per adapter name, in completion order.
    """
    empty = [i for i, c in enumerate(completions) if not c]  # log-prob 0: nothing to predict
    rows, _ = _rows(prompt_ids, [c or [pad_id] for c in completions], filler=pad_id)
    batch = pack_rows([row for _ in adapter_names for row in rows], pad_id=pad_id, device="cpu")
    names = [name for name in adapter_names for _ in rows]
    output = forward(names, **forward_kwargs(batch, attn_implementation, dtype))
    sums, _ = target_logps(output.logits, batch)
    flat = sums.reshape(len(adapter_names), -1)[:, : len(completions)]
    flat[:, empty] = 0.0
    return flat.tolist()


def implicit_rewards(
    forward: ForwardFn,
    adapter: str,
    prompt_ids: list[int],
    completions: list[list[int]],
    *,
    beta: float,
    pad_id: int,
    attn_implementation: str = "sdpa",
    dtype: torch.dtype = torch.float32,
) -> tuple[list[float], list[float], list[float]]:
    """Return (rewards, adapter log-probs, reference log-probs) for each completion.

    Policy and reference rows go through one mixed-adapter forward.
    """
    policy, reference = completion_logprobs(forward, [adapter, BASE], prompt_ids, completions, pad_id=pad_id,
                                            attn_implementation=attn_implementation, dtype=dtype)
    rewards = [beta * (p - r) for p, r in zip(policy, reference)]
    return rewards, policy, reference
