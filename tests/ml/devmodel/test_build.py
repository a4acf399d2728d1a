import json

from ml.devmodel.__main__ import main


def test_quick_build_writes_a_loadable_model_with_card(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    main(["build", str(tmp_path / "dev"), "--quick", "--threads", "1"])
    out = tmp_path / "dev"
    tokenizer = AutoTokenizer.from_pretrained(str(out))
    model = AutoModelForCausalLM.from_pretrained(str(out))
    assert tokenizer.bos_token == "<s>" and tokenizer.eos_token == "</s>" and tokenizer.pad_token == "<pad>"
    assert model.config.vocab_size == len(tokenizer)
    stats = json.loads((out / "devmodel.json").read_text())
    assert stats["train"]["steps"] == 30 and 0.0 <= stats["eval"]["parse_rate"] <= 1.0
    assert stats["eval"]["meets_parse_bar"] == (stats["eval"]["parse_rate"] >= 0.9)
    assert stats["eval"]["samples"] == 16 and len(stats["eval"]["examples"]) == 8
    card = (out / "README.md").read_text()
    assert "parses under the grammar" in card and "Write:" in card
