"""Plain, unbatched, cache-free computations the engine's results are checked against."""
from __future__ import annotations

from pathlib import Path

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer


def load_plain(model_dir: Path, adapter_dir: Path | None):
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(model_dir)).eval()
    if adapter_dir is not None:
        model = PeftModel.from_pretrained(model, str(adapter_dir)).eval()
    return tokenizer, model


@torch.no_grad()
def greedy_decode(model_dir: Path, adapter_dir: Path | None, prompt: str, max_new_tokens: int) -> tuple[str, int, float]:
    """Argmax decoding by re-running the whole sequence each step; returns (text, tokens, logprob)."""
    tokenizer, model = load_plain(model_dir, adapter_dir)
    ids = [tokenizer.bos_token_id] + tokenizer.encode(prompt, add_special_tokens=False)
    completion: list[int] = []
    logprob = 0.0
    for _ in range(max_new_tokens):
        logits = model(input_ids=torch.tensor([ids + completion])).logits[0, -1]
        token = int(logits.argmax())
        logprob += float(torch.log_softmax(logits, -1)[token])
        if token == tokenizer.eos_token_id:
            break
        completion.append(token)
    return tokenizer.decode(completion, skip_special_tokens=True).strip(), len(completion), logprob


@torch.no_grad()
def completion_logprob(model, tokenizer, prompt: str, completion: str) -> float:
    """Sum of log p(completion tokens + EOS | BOS + prompt) for one sequence."""
    prompt_ids = [tokenizer.bos_token_id] + tokenizer.encode(prompt, add_special_tokens=False)
    target = tokenizer.encode(completion, add_special_tokens=False) + [tokenizer.eos_token_id]
    logits = model(input_ids=torch.tensor([prompt_ids + target])).logits[0]
    logprobs = torch.log_softmax(logits, -1)
    return sum(float(logprobs[len(prompt_ids) - 1 + i, token]) for i, token in enumerate(target))
