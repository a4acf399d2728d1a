"""DPO implicit rewards of candidate completions, for the serving engine and the score API.

The reward of completion y for prompt x under a LoRA policy is beta * (log pi(y|x) - log pi_ref(y|x)),
with pi_ref the base (adapter disabled). All candidates share one prompt pass (see logprobs.py).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

from ml.data import Codec
from ml.logprobs import autocast_for, completion_logps, pack_rows


@torch.no_grad()
def score_completions(
    model_with_adapter,
    tokenizer,
    prompt: str,
    completions: Sequence[str],
    beta: float,
    *,
    max_prompt_tokens: int = 512,
    max_completion_tokens: int = 128,
) -> list[float]:
    """beta * (logp_policy - logp_ref) of each completion, tokenised exactly as in training.

    `model_with_adapter` is a peft model whose active adapter is the policy; the reference is
    the same model with the adapter disabled, so no second copy of the base is needed.
    """
    if not completions:
        return []
    device = next(model_with_adapter.parameters()).device
    codec = Codec.of(tokenizer)
    prompt_ids = codec.prompt(prompt, max_prompt_tokens)
    comp_ids = [codec.completion(c, max_completion_tokens) for c in completions]
    batch = pack_rows([(prompt_ids, comp_ids)], pad_id=codec.pad_id, device=device)
    was_training = model_with_adapter.training
    model_with_adapter.eval()
    try:
        with autocast_for(device):
            policy, _ = completion_logps(model_with_adapter, batch)
            with model_with_adapter.disable_adapter():
                reference, _ = completion_logps(model_with_adapter, batch)
    finally:
        model_with_adapter.train(was_training)
    return (beta * (policy[0] - reference[0])).tolist()
