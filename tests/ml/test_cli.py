import json

import pytest

from ml.train import load_examples, main

from .helpers import marketing_pairs


def test_cli_trains_from_jsonl(tiny_base, tmp_path, capsys):
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(json.dumps({**e.__dict__, "pair_id": i}) for i, e in enumerate(marketing_pairs(8, holdout=4))) + "\n")
    main(["--examples", str(path), "--base", tiny_base, "--out", str(tmp_path / "adapter"), "--max-steps", "3",
          "--batch-size", "4", "--lora-rank", "8", "--loss-type", "ipo", "--checkpoint-dir", str(tmp_path / "ck"),
          "--checkpoint-every", "3"])
    out = capsys.readouterr()
    result = json.loads(out.out.strip().splitlines()[-1])
    assert result["steps"] == 3 and result["holdout"]["pairs"] == 4 and not result["cancelled"]
    assert (tmp_path / "adapter" / "adapter_model.safetensors").exists()
    assert len([line for line in out.err.splitlines() if line.startswith('{"step"')]) == 3
    assert result["checkpoint_dir"].endswith("step-000003")


def test_jsonl_pairs_may_say_not_to_imitate_and_must_say_it_as_a_boolean(tmp_path):
    path = tmp_path / "pairs.jsonl"
    pair = {"prompt": "Write:", "chosen": "Save 30%", "rejected": "Save 50%"}
    path.write_text(json.dumps({**pair, "imitate": False}) + "\n" + json.dumps(pair) + "\n")
    assert [e.imitate for e in load_examples(str(path))] == [False, True]
    path.write_text(json.dumps({**pair, "imitate": "false"}) + "\n")
    with pytest.raises(TypeError, match="imitate"):
        load_examples(str(path))
