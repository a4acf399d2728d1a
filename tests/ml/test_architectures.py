"""Every architecture family through the ML library: prompt rendering, a DPO step, serving and scoring.

Tiny random models of eight families, with the tokenizers their real models ship: GPT-2 (Conv1D,
BOS = EOS, no pad), GPT-NeoX (same tokenizer habits), Qwen2/Qwen3 (no BOS, ChatML), Gemma (BOS
in the template, no system role, <end_of_turn>), Phi-3 (<|end|>), Llama and Mistral (plain).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM

from ml.adapters import ARCHITECTURE_TARGETS, load_base_model, load_tokenizer
from ml.config import PreferenceExample, TrainConfig, TrainJob
from ml.data import Codec
from ml.prompts import PLAIN_VERSION, Brief, ChannelShape, format_of_model
from ml.scoring import score_completions
from ml.serving import Engine, EngineConfig, GenerateRequest, ScoreRequest
from ml.tiny import FAMILIES, build_tiny_model
from ml.train import train_dpo

CHAT_FAMILIES = {"qwen2", "qwen3", "gemma", "phi3"}
PRODUCTS = ["shoes", "candles", "headphones", "backpacks"]


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family_model(request, tmp_path_factory) -> tuple[str, Path]:
    return request.param, build_tiny_model(tmp_path_factory.mktemp(request.param) / "base", family=request.param)


@pytest.fixture(scope="module")
def trained(family_model, tmp_path_factory) -> tuple[str, Path, Path, str]:
    """(family, base dir, adapter dir, one rendered prompt) after six DPO steps on rendered briefs."""
    family, base = family_model
    fmt = format_of_model(base)
    examples = []
    for i in range(8):
        product = PRODUCTS[i % len(PRODUCTS)]
        prompt = fmt.render(Brief(brand=f"Acme {i}", voice="warm", channel="headline", product=product))
        examples.append(PreferenceExample(prompt, f"Save 20% on {product} today", f"Meet our {product}"))
    out = tmp_path_factory.mktemp(family + "-adapter") / "adapter"
    job = TrainJob(base_model_path=str(base), examples=tuple(examples), output_dir=str(out),
                   config=TrainConfig(max_steps=6, batch_size=4, lora_rank=8, lora_alpha=16, lr=1e-2, device="cpu"))
    result = train_dpo(job)
    assert result.steps == 6 and all(torch.isfinite(torch.tensor(r["loss"])) for r in result.history)
    return family, base, Path(result.adapter_dir), examples[0].prompt


def test_the_prompt_format_follows_the_tokenizer(family_model):
    family, base = family_model
    fmt = format_of_model(base)
    push = ChannelShape(one_line=True, max_chars=120, words="a push notification")
    prompt = fmt.render(Brief(brand="Acme", voice="warm", channel="push", product="shoes", rules=("Never say free",),
                              shape=push))
    if family in CHAT_FAMILIES:
        assert fmt.version.startswith("chat-v2-")
        assert "Brand voice: warm." in prompt and "Rule: Never say free" in prompt
        assert "Write a push notification: one line, at most 120 characters." in prompt
    else:
        assert fmt.version == PLAIN_VERSION and prompt.endswith("Write:")
    codec = Codec.of(load_tokenizer(str(base)))
    ids = codec.prompt(prompt)
    tokenizer = load_tokenizer(str(base))
    if tokenizer.bos_token_id is None:  # Qwen: nothing invented in front
        assert ids[0] != tokenizer.eos_token_id
    elif family in CHAT_FAMILIES:  # the template's own specials, one BOS at most
        assert ids.count(tokenizer.bos_token_id) <= 1
    else:
        assert ids[0] == tokenizer.bos_token_id and ids.count(tokenizer.bos_token_id) == 1
    if family == "gemma":
        assert tokenizer.convert_ids_to_tokens(codec.end_id) == "<end_of_turn>"
        assert {tokenizer.eos_token_id, codec.end_id} <= codec.stop_ids


def test_the_adapter_targets_every_projection_and_loads_in_plain_peft(trained):
    family, base, adapter, _ = trained
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert set(config["target_modules"]) == set(ARCHITECTURE_TARGETS[family])
    assert config["fan_in_fan_out"] is (family == "gpt2")
    assert config["base_model_name_or_path"] == str(base)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(base)), str(adapter))
    lora_b = [p for n, p in model.named_parameters() if "lora_B" in n]
    assert lora_b and any(float(p.abs().sum()) > 0 for p in lora_b)  # trained, not the zero init


@torch.no_grad()
def _plain_greedy(base: Path, adapter: Path, prompt: str, steps: int) -> list[int]:
    """Argmax tokens by re-running the whole sequence through plain peft each step."""
    tokenizer = load_tokenizer(str(base))
    codec = Codec.of(tokenizer)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(base)), str(adapter)).eval()
    ids, out = codec.prompt(prompt), []
    for _ in range(steps):
        token = int(model(input_ids=torch.tensor([ids + out])).logits[0, -1].argmax())
        if token in codec.stop_ids:
            break
        out.append(token)
    return out


@pytest.mark.parametrize("lora", ["segmented", "peft"])
def test_serving_generates_what_plain_peft_generates(trained, lora):
    _family, base, adapter, prompt = trained
    engine = Engine(base, EngineConfig(lora=lora))
    try:
        result = engine.generate(GenerateRequest(prompt=prompt, adapter_id="a", adapter_path=str(adapter),
                                                 temperature=0.0, max_new_tokens=6, n=1, seed=0))
        sampled = engine.generate(GenerateRequest(prompt=prompt, adapter_id="a", adapter_path=str(adapter),
                                                  temperature=1.0, top_p=0.9, top_k=20, max_new_tokens=6, n=3,
                                                  one_line=True, max_chars=30, seed=1))
    finally:
        engine.close()
    expected = _plain_greedy(base, adapter, prompt, 6)
    assert result.token_counts == [len(expected)]
    tokenizer = load_tokenizer(str(base))
    assert result.texts[0] == tokenizer.decode(expected, skip_special_tokens=True).strip()
    assert all(len(text) <= 30 and "\n" not in text for text in sampled.texts)
    assert set(sampled.finish_reasons) <= {"stop", "newline", "length", "max_chars"}


def test_engine_scores_equal_the_training_side_scores(trained):
    _family, base, adapter, prompt = trained
    candidates = ["Save 20% on shoes today", "Meet our shoes", "x"]
    engine = Engine(base, EngineConfig())
    try:
        served = engine.score(ScoreRequest(prompt=prompt, candidates=candidates, adapter_id="a",
                                           adapter_path=str(adapter), beta=0.1))
    finally:
        engine.close()
    model = PeftModel.from_pretrained(load_base_model(str(base), torch.device("cpu")), str(adapter))
    offline = score_completions(model, load_tokenizer(str(base)), prompt, candidates, 0.1)
    assert served.scores == pytest.approx(offline, abs=1e-4)
    assert served.scores[0] > served.scores[1], served.scores  # the trained preference shows
