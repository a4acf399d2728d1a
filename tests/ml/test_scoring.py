import pytest
import torch

from ml.data import tokenize_pairs
from ml.scoring import score_completions
from ml.train import pair_logps

from .helpers import adapter_model, marketing_pairs


def test_fresh_adapter_scores_zero(tiny_base, tokenizer):
    model = adapter_model(tiny_base)
    assert score_completions(model, tokenizer, "Brand: Acme\nWrite:", ["Save 20%", "Meet us"], 0.1) == [0.0, 0.0]


def test_scores_are_beta_times_policy_minus_reference(tiny_base, tokenizer):
    model = adapter_model(tiny_base, perturb=0.05)
    ex = marketing_pairs(1)[0]
    scores = score_completions(model, tokenizer, ex.prompt, [ex.chosen, ex.rejected], 0.5)
    (pair,) = tokenize_pairs(tokenizer, [ex], max_prompt_tokens=512, max_completion_tokens=128)
    with torch.no_grad():
        c, r, _, _, _ = pair_logps(model, [pair], tokenizer.pad_token_id, torch.device("cpu"))
        with model.disable_adapter():
            rc, rr, _, _, _ = pair_logps(model, [pair], tokenizer.pad_token_id, torch.device("cpu"))
    assert scores == pytest.approx([0.5 * (c - rc).item(), 0.5 * (r - rr).item()], abs=1e-5)
    assert scores[0] != 0.0
    assert score_completions(model, tokenizer, ex.prompt, [], 0.5) == []
