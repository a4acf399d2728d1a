"""The one door between the generation domain and ml/serving: plain values in, results out.

torch and transformers load inside these functions, so the web process never imports them.
The engine is process-wide: a generate worker keeps the base model and warm adapters between
tasks. Engine exceptions are translated into the three kinds the domain tells apart.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from prefcontent.content.channels import channel_form
from prefcontent.core.knobs import base_model_path
from prefcontent.generation.conf import generation_settings

ENGINE_NAME = "inprocess"


class EngineInputError(ValueError):
    """The engine refused the request as out of bounds (e.g. the prompt is longer than the model allows)."""


class EngineAdapterError(RuntimeError):
    """The adapter's files failed their checksum at load time or could not be loaded."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


class BaseModelUnavailable(RuntimeError):
    """The base model directory is missing or cannot be loaded."""


@dataclass(frozen=True)
class ServingAdapter:
    """A verified local adapter directory and the key the engine caches it under."""

    adapter_id: str  # engine cache key, e.g. "brand-7-v3"
    path: Path  # local peft LoRA directory (already checksum-verified by the registry)
    sha256: str  # published directory checksum; the engine re-checks it on every (re)load


def brand_adapter_id(*, brand_id: int, version: int, adapter_pk: int) -> str:
    """The engine cache key of a brand's adapter version; the brand prefix is what erasure evicts."""
    return f"{_brand_prefix(brand_id)}{version}-{adapter_pk}"


def _brand_prefix(brand_id: int) -> str:
    return f"brand-{brand_id}-v"


def loaded_brand_ids() -> set[int]:
    """Brands with an adapter loaded in this process's engines (none where no engine runs)."""
    from ml.serving import running_engines

    ids = set()
    for engine in running_engines():
        for adapter_id in engine.loaded_adapters:
            head, _, _ = adapter_id.partition("-v")
            if head.startswith("brand-") and head[6:].isdigit():
                ids.add(int(head[6:]))
    return ids


def evict_brand_adapters(brand_id: int, timeout: float = 30.0) -> int:
    """Unload the brand's adapters from every engine this process runs; how many were loaded."""
    from ml.serving import running_engines

    return sum(engine.evict_adapters(_brand_prefix(brand_id)).result(timeout) for engine in running_engines())


@dataclass(frozen=True)
class Completion:
    """One sampled sequence."""

    index: int  # sequence index; with the request seed it reproduces the sequence
    text: str  # decoded completion, prompt excluded
    logprob: float  # summed log-prob under the serving model
    token_count: int  # completion tokens
    finish_reason: str = "stop"  # "stop" / "newline": ended by itself; "length" / "max_chars": cut (ml.serving.stops)


@dataclass(frozen=True)
class Generation:
    """What the engine produced for one request."""

    completions: list[Completion]  # in sequence order
    model_id: str  # base model identifier
    seed: int  # seed the engine used
    engine: str  # serving backend name


def _device(requested: str) -> str:
    """With "auto", the GPU when this (already forked) worker process has one."""
    if requested != "auto":
        return requested
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


_ENGINE_CONFIGS: dict[str, object] = {}  # base model path -> the EngineConfig this process serves it with


def _engine_config(path: str):
    """Caps from the settings, fixed at first use: the engine keeps one config for its lifetime."""
    from ml.serving import EngineConfig, SamplingCaps

    if path not in _ENGINE_CONFIGS:
        cfg = generation_settings()
        _ENGINE_CONFIGS[path] = EngineConfig(device=_device(cfg.device), dtype=cfg.dtype, caps=SamplingCaps(
            max_n=max(cfg.max_n, SamplingCaps.max_n),
            max_new_tokens=max(cfg.max_new_tokens, SamplingCaps.max_new_tokens),
            max_candidates=max(cfg.max_candidates, SamplingCaps.max_candidates),
            # Byte-level tokenizers can spend several tokens per character; the API bounds characters.
            max_candidate_tokens=max(4 * cfg.max_candidate_chars, SamplingCaps.max_candidate_tokens),
        ))
    return _ENGINE_CONFIGS[path]


def _engine():
    from ml.serving import get_engine

    path = str(Path(base_model_path()).resolve())
    if not Path(path).is_dir():
        raise BaseModelUnavailable(f"the base model directory {path!r} does not exist")
    try:
        return get_engine(path, _engine_config(path))
    except OSError as exc:
        raise BaseModelUnavailable(f"the base model at {path!r} cannot be loaded: {exc}") from exc


def _run(submit_request, timeout: float):
    from ml.serving import (
        AdapterChecksumError,
        AdapterLoadError,
        InvalidRequestError,
    )

    try:
        return _engine().submit(submit_request).result(timeout)
    except InvalidRequestError as exc:
        raise EngineInputError(str(exc)) from exc
    except AdapterChecksumError as exc:
        raise EngineAdapterError(str(exc), code="adapter_checksum_failed") from exc
    except AdapterLoadError as exc:
        raise EngineAdapterError(str(exc), code="adapter_load_failed") from exc


def generate(*, prompt: str, adapter: ServingAdapter | None, n: int, temperature: float, top_p: float,
             max_new_tokens: int, seed: int | None, timeout: float, channel: str = "headline") -> Generation:
    """Sample `n` completions; the channel's form (prefcontent.content.channels) says where copy ends and
    how long it may be."""
    from ml.serving import GenerateRequest

    shape = channel_form(channel)
    request = GenerateRequest(
        prompt=prompt, adapter_id=adapter.adapter_id if adapter else None,
        adapter_path=str(adapter.path) if adapter else None, adapter_sha256=adapter.sha256 if adapter else None,
        n=n, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens, seed=seed,
        one_line=shape.one_line, max_chars=shape.max_chars,
    )
    result = _run(request, timeout)
    completions = [Completion(index=i, text=text, logprob=float(lp), token_count=int(tc), finish_reason=reason)
                   for i, (text, lp, tc, reason) in enumerate(zip(result.texts, result.logprobs, result.token_counts,
                                                                  result.finish_reasons))]
    return Generation(completions=completions, model_id=result.model_id, seed=result.seed, engine=result.engine)


def score(*, prompt: str, candidates: list[str], adapter: ServingAdapter, beta: float, timeout: float) -> list[float]:
    """Implicit DPO rewards (beta * log-ratio adapter vs. base) of each candidate, in input order."""
    from ml.serving import ScoreRequest

    request = ScoreRequest(prompt=prompt, candidates=list(candidates), adapter_id=adapter.adapter_id,
                           adapter_path=str(adapter.path), adapter_sha256=adapter.sha256, beta=beta)
    return [float(s) for s in _run(request, timeout).scores]


def model_id() -> str:
    """The base model identifier results carry (the engine's resolved path)."""
    return str(Path(base_model_path()).resolve())
