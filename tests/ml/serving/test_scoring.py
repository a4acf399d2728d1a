from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer

from ml.adapters import lora_targets
from ml.serving import ScoreRequest
from tests.ml.serving.reference import completion_logprob, load_plain

PROMPT = "Write a headline for an email subject line about a spring sale."
CHOSEN = "Save 20% on running shoes today only"
REJECTED = "Last chance: free shipping ends tonight"


def _train_preference(model_dir: Path, out_dir: Path, beta: float = 0.1) -> Path:
    """A few DPO steps that teach a LoRA adapter to prefer CHOSEN over REJECTED."""
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    base = AutoModelForCausalLM.from_pretrained(str(model_dir))
    model = get_peft_model(base, LoraConfig(r=8, lora_alpha=16, target_modules=lora_targets(base)[0], lora_dropout=0.0))
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    prompt = [tokenizer.bos_token_id] + tokenizer.encode(PROMPT, add_special_tokens=False)

    def logp(text: str) -> torch.Tensor:
        target = tokenizer.encode(text, add_special_tokens=False) + [tokenizer.eos_token_id]
        logits = model(input_ids=torch.tensor([prompt + target])).logits[0, len(prompt) - 1 : -1]
        return torch.log_softmax(logits, -1).gather(1, torch.tensor(target).unsqueeze(1)).sum()

    with torch.no_grad(), model.disable_adapter():
        reference = logp(CHOSEN) - logp(REJECTED)
    for _ in range(15):
        loss = -torch.nn.functional.logsigmoid(beta * (logp(CHOSEN) - logp(REJECTED) - reference))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.save_pretrained(str(out_dir))
    return out_dir


def test_score_is_beta_times_the_plain_log_ratio(make_engine, tiny_model, adapters):
    engine = make_engine()
    candidates = [CHOSEN, REJECTED, "Meet the lightest headphones", ""]
    result = engine.score(
        ScoreRequest(prompt=PROMPT, candidates=candidates, adapter_id="brand-1",
                     adapter_path=str(adapters["brand-1"]), beta=0.5)
    )
    tokenizer, model = load_plain(tiny_model, adapters["brand-1"])
    for i, text in enumerate(candidates):
        policy = completion_logprob(model, tokenizer, PROMPT, text)
        with model.disable_adapter():
            reference = completion_logprob(model, tokenizer, PROMPT, text)
        assert result.logp_adapter[i] == pytest.approx(policy, abs=1e-3)
        assert result.logp_reference[i] == pytest.approx(reference, abs=1e-3)
        assert result.scores[i] == pytest.approx(0.5 * (policy - reference), abs=1e-3)
    assert result.ranking == sorted(range(4), key=lambda i: -result.scores[i])
    assert len(set(result.scores)) == 4


def test_scores_rank_the_completion_the_adapter_was_trained_to_prefer(make_engine, tiny_model, tmp_path):
    adapter = _train_preference(tiny_model, tmp_path / "trained")
    engine = make_engine()
    result = engine.score(
        ScoreRequest(prompt=PROMPT, candidates=[REJECTED, CHOSEN], adapter_id="trained", adapter_path=str(adapter))
    )
    assert result.ranking == [1, 0]
    assert result.scores[1] > 0 > result.scores[0]


def test_scoring_runs_between_generation_steps(make_engine, adapters):
    from ml.serving import GenerateRequest

    engine = make_engine()
    request = ScoreRequest(prompt=PROMPT, candidates=[CHOSEN, REJECTED], adapter_id="brand-0",
                           adapter_path=str(adapters["brand-0"]))
    alone = engine.score(request)
    running = engine.submit(GenerateRequest(prompt=PROMPT, adapter_id="brand-1",
                                            adapter_path=str(adapters["brand-1"]), max_new_tokens=40, seed=1))
    during = engine.score(request)
    assert during.scores == pytest.approx(alone.scores, abs=1e-5)
    assert running.result(timeout=60).token_counts[0] > 0


def test_a_score_waits_for_an_adapter_slot_held_by_generation(make_engine, adapters):
    from ml.serving import GenerateRequest

    engine = make_engine(max_adapters=1)
    request = ScoreRequest(prompt=PROMPT, candidates=[CHOSEN, REJECTED], adapter_id="brand-0",
                           adapter_path=str(adapters["brand-0"]))
    alone = engine.score(request)
    running = engine.submit(GenerateRequest(prompt=PROMPT, adapter_id="brand-1",
                                            adapter_path=str(adapters["brand-1"]), max_new_tokens=40, seed=1))
    steps = engine.stats.decode_steps
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and engine.stats.decode_steps < steps + 2:  # generation holds the only slot now
        time.sleep(0.001)
    assert not running.done()
    waited = engine.score(request, timeout=60)
    assert waited.scores == pytest.approx(alone.scores, abs=1e-5)
    assert running.result(timeout=60).token_counts[0] > 0
    assert engine.stats.adapter_loads == 3  # brand-0, brand-1, brand-0 again


def test_best_of_n_ranks_the_generated_completions(make_engine, adapters):
    from ml.serving import GenerateRequest

    engine = make_engine()
    brand = {"adapter_id": "brand-2", "adapter_path": str(adapters["brand-2"])}
    generated = engine.generate(GenerateRequest(prompt=PROMPT, n=4, max_new_tokens=8, seed=3, **brand))
    ranked = engine.score(ScoreRequest(prompt=PROMPT, candidates=generated.texts, **brand))
    assert len(set(generated.texts)) == 4 and len(set(ranked.scores)) == 4
    assert sorted(ranked.ranking) == [0, 1, 2, 3]
    assert [ranked.scores[i] for i in ranked.ranking] == sorted(ranked.scores, reverse=True)
