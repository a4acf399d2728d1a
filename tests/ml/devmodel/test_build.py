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
    assert stats["eval"]["meets_parse_bar"]  # the quick build has no bar: too small to learn the grammar
    assert stats["eval"]["samples"] == 16 and len(stats["eval"]["examples"]) == 8
    card = (out / "README.md").read_text()
    assert "parses under the grammar" in card and "Write:" in card


def test_a_build_under_its_bar_fails_after_its_retries_and_leaves_nothing(tmp_path, capsys):
    out = tmp_path / "dev"
    assert main(["build", str(out), "--quick", "--threads", "1", "--parse-bar", "1.01", "--attempts", "2"]) == 1
    printed = capsys.readouterr()
    assert "attempt 2/2 (seed 1)" in printed.out  # retried with the next seed
    assert "FAILED" in printed.err and "under the bar 1.01" in printed.err and "2 attempt(s)" in printed.err
    assert not out.exists()  # no model, no devmodel.json marker
