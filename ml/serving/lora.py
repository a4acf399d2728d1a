"""Two ways to run a batch whose rows use different LoRA adapters over one base model.

`SegmentedLora` (the default) reads peft adapter files with safetensors and adds each
row's LoRA term from forward hooks on the base Linear layers (or GPT-2's Conv1D, which peft
adapts with `fan_in_fan_out`: only its merged weight is transposed, the LoRA term is the same): rows are kept grouped by
adapter, so each contiguous run costs two small matmuls per layer and nothing is gathered
or scattered. `PeftLora` delegates to peft (`adapter_names=` mixed batches); it is kept
selectable because the benchmark measures both.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import torch
from peft import PeftModel
from safetensors.torch import load_file

from ml.adapters import adaptable_modules

BASE = "__base__"  # adapter name of rows that use the bare base model (peft's spelling)
ADAPTER_WEIGHTS = "adapter_model.safetensors"
ADAPTER_CONFIG = "adapter_config.json"

_KEY = re.compile(r"^base_model\.model\.(?P<module>.+)\.lora_(?P<part>[AB])\.weight$")
# peft features whose effect is not the plain `x @ A^T @ B^T * scaling` this module adds.
_UNSUPPORTED = (
    "use_dora", "lora_bias", "modules_to_save", "layer_replication", "alpha_pattern",
    "trainable_token_indices", "alora_invocation_tokens", "target_parameters", "use_qalora", "use_bdlora",
    "arrow_config",
)


class AdapterFormatError(ValueError):
    """The directory is not a plain peft LoRA adapter this engine can apply."""


class LoraBackend(Protocol):
    """Holds adapter weights on the model and runs batches with per-row adapters."""

    def add(self, name: str, path: Path) -> None: ...

    def remove(self, name: str) -> None: ...

    def forward(self, adapter_names: list[str], **kwargs: object): ...


def runs(adapter_names: list[str]) -> list[tuple[int, int, str]]:
    """(start, end, name) for each maximal run of equal consecutive names, BASE runs left out."""
    found: list[tuple[int, int, str]] = []
    start = 0
    for i in range(1, len(adapter_names) + 1):
        if i == len(adapter_names) or adapter_names[i] != adapter_names[start]:
            if adapter_names[start] != BASE:
                found.append((start, i, adapter_names[start]))
            start = i
    return found


class SegmentedLora:
    """LoRA applied by forward hooks on the base model, one run of same-adapter rows at a time."""

    def __init__(self, model: torch.nn.Module) -> None:
        self._model = model
        self._linears = adaptable_modules(model)
        param = next(model.parameters())
        self._dtype, self._device = param.dtype, param.device
        # adapter name -> module name -> (A^T [in, r], scaling * B^T [r, out])
        self._weights: dict[str, dict[str, tuple[torch.Tensor, torch.Tensor]]] = {}
        self._runs: list[tuple[int, int, dict[str, tuple[torch.Tensor, torch.Tensor]]]] = []
        self._hooked: set[str] = set()

    def add(self, name: str, path: Path) -> None:
        config = json.loads((path / ADAPTER_CONFIG).read_text())
        _check_config(config, path)
        tensors = load_file(str(path / ADAPTER_WEIGHTS))
        parts: dict[str, dict[str, torch.Tensor]] = {}
        for key, tensor in tensors.items():
            match = _KEY.match(key)
            if match is None:
                raise AdapterFormatError(f"{path}: unexpected tensor {key!r} (only lora_A/lora_B weights are served)")
            parts.setdefault(match["module"], {})[match["part"]] = tensor
        weights: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        for module, pair in parts.items():
            linear = self._linears.get(module)
            if linear is None or set(pair) != {"A", "B"}:
                raise AdapterFormatError(f"{path}: {module!r} is not a Linear of the base model with lora_A and lora_B")
            conv1d = not isinstance(linear, torch.nn.Linear)
            if conv1d != bool(config.get("fan_in_fan_out")):
                raise AdapterFormatError(f"{path}: fan_in_fan_out={config.get('fan_in_fan_out')!r} does not fit "
                                         f"{module!r}, a {type(linear).__name__}")
            # A Conv1D stores its weight (in, out); a Linear (out, in).
            in_features, out_features = linear.weight.shape if conv1d else linear.weight.shape[::-1]
            a, b = pair["A"], pair["B"]
            rank = a.shape[0]
            if a.shape != (rank, in_features) or b.shape != (out_features, rank):
                raise AdapterFormatError(f"{path}: LoRA shapes {tuple(a.shape)}, {tuple(b.shape)} do not fit {module!r}")
            alpha = float(config["lora_alpha"])
            scaling = alpha / math.sqrt(rank) if config.get("use_rslora") else alpha / rank
            weights[module] = (
                a.t().contiguous().to(self._device, self._dtype),
                (b.t() * scaling).contiguous().to(self._device, self._dtype),
            )
        for module in weights.keys() - self._hooked:
            self._linears[module].register_forward_hook(self._hook(module))
            self._hooked.add(module)
        self._weights[name] = weights

    def remove(self, name: str) -> None:
        del self._weights[name]

    def forward(self, adapter_names: list[str], **kwargs: object):
        with self._segments(adapter_names):
            return self._model(**kwargs)

    @contextmanager
    def _segments(self, adapter_names: list[str]) -> Iterator[None]:
        self._runs = [(s, e, self._weights[name]) for s, e, name in runs(adapter_names)]
        try:
            yield
        finally:
            self._runs = []

    def _hook(self, module: str):
        def add_lora(_linear: torch.nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
            if not self._runs:
                return output
            # Rows are the leading dim; flatten (rows, tokens) so each run is one 2-D slice.
            tokens = output.numel() // (output.shape[0] * output.shape[-1])
            x = args[0].reshape(-1, args[0].shape[-1])
            flat = output.view(-1, output.shape[-1])
            for start, end, weights in self._runs:
                pair = weights.get(module)
                if pair is not None:
                    rows = slice(start * tokens, end * tokens)
                    flat[rows].addmm_(x[rows] @ pair[0], pair[1])
            return output

        return add_lora


class PeftLora:
    """peft's own LoRA layers; mixed batches go through `adapter_names=`."""

    def __init__(self, model: torch.nn.Module) -> None:
        self._base = model
        self._peft: PeftModel | None = None

    def add(self, name: str, path: Path) -> None:
        _check_config(json.loads((path / ADAPTER_CONFIG).read_text()), path)
        if self._peft is None:
            self._peft = PeftModel.from_pretrained(self._base, str(path), adapter_name=name, is_trainable=False)
            self._peft.eval()
        else:
            self._peft.load_adapter(str(path), adapter_name=name, is_trainable=False)

    def remove(self, name: str) -> None:
        assert self._peft is not None
        if list(self._peft.peft_config) == [name]:
            # peft cannot hold zero adapters; strip the LoRA layers and keep the bare base.
            self._base = self._peft.unload()
            self._peft = None
            return
        self._peft.delete_adapter(name)
        if self._peft.active_adapter not in self._peft.peft_config:
            self._peft.set_adapter(next(iter(self._peft.peft_config)), inference_mode=True)

    def forward(self, adapter_names: list[str], **kwargs: object):
        if self._peft is None:
            return self._base(**kwargs)
        distinct = set(adapter_names)
        if len(distinct) == 1 and BASE not in distinct:
            # One adapter: the plain peft path, without the per-layer mixed-batch hooks.
            (name,) = distinct
            if self._peft.active_adapter != name:
                self._peft.set_adapter(name, inference_mode=True)
            return self._peft(**kwargs)
        return self._peft(adapter_names=list(adapter_names), **kwargs)


def _check_config(config: dict, path: Path) -> None:
    if config.get("peft_type") != "LORA":
        raise AdapterFormatError(f"{path}: peft_type is {config.get('peft_type')!r}, not 'LORA'")
    if config.get("bias", "none") != "none":
        raise AdapterFormatError(f"{path}: LoRA bias={config['bias']!r} is not supported")
    used = [key for key in _UNSUPPORTED if config.get(key)]
    if used:
        raise AdapterFormatError(f"{path}: unsupported LoRA options {used}")
