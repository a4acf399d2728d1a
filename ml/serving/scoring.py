"""Implicit DPO reward of candidate completions: beta * (log pi_adapter - log pi_reference).

The reference is the base model with the adapter disabled, as in DPO training, so a
candidate the adapter learned to prefer scores above one it learned to avoid.
"""
from __future__ import annotations

import torch

from ml.serving.batch import ForwardFn
from ml.serving.lora import BASE


def completion_logprobs(
    forward: ForwardFn,
    adapter_names: list[str],
    prompt_ids: list[int],
    completions: list[list[int]],
    *,
    pad_id: int,
) -> list[float]:
    """Summed log-prob of completions[i] after `prompt_ids`, under adapter_names[i], in one forward."""
    lengths = [len(prompt_ids) + len(c) for c in completions]
    width = max(lengths)
    input_ids = torch.full((len(completions), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(completions), width), dtype=torch.long)
    for i, completion in enumerate(completions):
        input_ids[i, : lengths[i]] = torch.tensor(prompt_ids + completion, dtype=torch.long)
        mask[i, : lengths[i]] = 1
    # Right padding: real tokens keep positions 0..len-1 and never attend to the pad tail.
    logits = forward(adapter_names, input_ids=input_ids, attention_mask=mask).logits.float()
    # Logits at t predict token t + 1.
    token_logprobs = torch.log_softmax(logits[:, :-1], dim=-1).gather(2, input_ids[:, 1:].unsqueeze(2)).squeeze(2)
    start = len(prompt_ids) - 1
    return [float(token_logprobs[i, start : lengths[i] - 1].sum()) for i in range(len(completions))]


def implicit_rewards(
    forward: ForwardFn,
    adapter: str,
    prompt_ids: list[int],
    completions: list[list[int]],
    *,
    beta: float,
    pad_id: int,
) -> tuple[list[float], list[float], list[float]]:
    """Return (rewards, adapter log-probs, reference log-probs) for each completion.

    Policy and reference rows go through one mixed-adapter forward.
    """
    count = len(completions)
    both = completion_logprobs(
        forward, [adapter] * count + [BASE] * count, prompt_ids, completions + completions, pad_id=pad_id
    )
    policy, reference = both[:count], both[count:]
    rewards = [beta * (p - r) for p, r in zip(policy, reference)]
    return rewards, policy, reference
