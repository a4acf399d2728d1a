"""The one door between the generation domain and ml/serving: plain values in, results out.

torch and transformers load inside these functions, so the web process never imports them.
The engine is process-wide: a generate worker keeps the base model and warm adapters between
tasks, and the worker's task threads all submit to it, so concurrent jobs share decode batches. Engine exceptions are translated into the three kinds the domain tells apart.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
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


class EngineTimeout(RuntimeError):
    """The request did not finish within its time; the engine dropped it (its rows left the batch)."""


class RequestAbandoned(RuntimeError):
    """`still_wanted` said no while the request waited (its job was reaped); the engine dropped it."""


WAIT_SLICE_S = 15.0  # how often a waiting job checks it is still wanted (and renews its shard's heartbeat)


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


def adapter_loaded(adapter_id: str) -> bool:
    """Whether an engine of this process holds the adapter's weights now."""
    from ml.serving import running_engines

    return any(adapter_id in engine.loaded_adapters for engine in running_engines())


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


def _dtype(requested: str, device: str) -> str:
    """With "auto", bfloat16 on a GPU (half the memory and bandwidth of float32, the range of float32)
    and float32 on the CPU, where bfloat16 matmuls are slower than float32 on most hosts."""
    if requested != "auto":
        return requested
    return "bfloat16" if device.startswith("cuda") else "float32"


_ENGINE_CONFIGS: dict[str, object] = {}  # base model path -> the EngineConfig this process serves it with


def _engine_config(path: str):
    """Caps from the settings, fixed at first use: the engine keeps one config for its lifetime."""
    from ml.serving import EngineConfig, SamplingCaps

    if path not in _ENGINE_CONFIGS:
        cfg = generation_settings()
        device = _device(cfg.device)
        caps = SamplingCaps(
            max_n=max(cfg.max_n, SamplingCaps.max_n),
            max_new_tokens=max(cfg.max_new_tokens, SamplingCaps.max_new_tokens),
            max_candidates=max(cfg.max_candidates, SamplingCaps.max_candidates),
            # Byte-level tokenizers can spend several tokens per character; the API bounds characters.
            max_candidate_tokens=max(4 * cfg.max_candidate_chars, SamplingCaps.max_candidate_tokens),
        )
        _ENGINE_CONFIGS[path] = EngineConfig(device=device, dtype=_dtype(cfg.dtype, device), caps=caps,
                                             max_adapters=cfg.adapter_cache_size,
                                             max_adapter_bytes=cfg.adapter_cache_bytes)
    return _ENGINE_CONFIGS[path]


_OBSERVED: set[int] = set()  # engines whose decode steps feed the batch-size histogram


def _engine():
    from ml.serving import get_engine
    from prefcontent.core import metrics

    path = str(Path(base_model_path()).resolve())
    if not Path(path).is_dir():
        raise BaseModelUnavailable(f"the base model directory {path!r} does not exist")
    try:
        engine = get_engine(path, _engine_config(path))
    except OSError as exc:
        raise BaseModelUnavailable(f"the base model at {path!r} cannot be loaded: {exc}") from exc
    if id(engine) not in _OBSERVED:
        _OBSERVED.add(id(engine))
        engine.add_step_observer(metrics.DECODE_BATCH_ROWS.observe)
    return engine


def _wait(engine, future, timeout: float, still_wanted: Callable[[], bool] | None):
    """The result, waited for in slices: between them `still_wanted` may abandon the request. A request
    that times out or is abandoned is cancelled in the engine, so its rows stop taking decode steps."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            engine.cancel(future)
            raise EngineTimeout(f"the engine did not finish the request within {timeout:.0f} s")
        try:
            return future.result(min(left, WAIT_SLICE_S))
        except FutureTimeout:
            if still_wanted is not None and not still_wanted():
                engine.cancel(future)
                raise RequestAbandoned("the request is no longer wanted") from None


def _run(submit_request, timeout: float, still_wanted: Callable[[], bool] | None = None):
    from ml.serving import (
        AdapterChecksumError,
        AdapterLoadError,
        InvalidRequestError,
    )

    try:
        engine = _engine()
        return _wait(engine, engine.submit(submit_request), timeout, still_wanted)
    except InvalidRequestError as exc:
        raise EngineInputError(str(exc)) from exc
    except AdapterChecksumError as exc:
        raise EngineAdapterError(str(exc), code="adapter_checksum_failed") from exc
    except AdapterLoadError as exc:
        raise EngineAdapterError(str(exc), code="adapter_load_failed") from exc


def generate(*, prompt: str, adapter: ServingAdapter | None, n: int, temperature: float, top_p: float,
             max_new_tokens: int, seed: int | None, timeout: float, channel: str = "headline",
             still_wanted: Callable[[], bool] | None = None) -> Generation:
    """Sample `n` completions; the channel's form (prefcontent.content.channels) says where copy ends and how
    long it may be. EngineTimeout past `timeout`; RequestAbandoned when `still_wanted()` (asked every
    WAIT_SLICE_S) is False."""
    from ml.serving import GenerateRequest

    shape = channel_form(channel)
    request = GenerateRequest(
        prompt=prompt, adapter_id=adapter.adapter_id if adapter else None,
        adapter_path=str(adapter.path) if adapter else None, adapter_sha256=adapter.sha256 if adapter else None,
        n=n, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens, seed=seed,
        one_line=shape.one_line, max_chars=shape.max_chars,
    )
    result = _run(request, timeout, still_wanted)
    completions = [Completion(index=i, text=text, logprob=float(lp), token_count=int(tc), finish_reason=reason)
                   for i, (text, lp, tc, reason) in enumerate(zip(result.texts, result.logprobs, result.token_counts,
                                                                  result.finish_reasons))]
    return Generation(completions=completions, model_id=result.model_id, seed=result.seed, engine=result.engine)


def score(*, prompt: str, candidates: list[str], adapter: ServingAdapter, beta: float, timeout: float,
          still_wanted: Callable[[], bool] | None = None) -> list[float]:
    """Implicit DPO rewards (beta * log-ratio adapter vs. base) of each candidate, in input order."""
    from ml.serving import ScoreRequest

    request = ScoreRequest(prompt=prompt, candidates=list(candidates), adapter_id=adapter.adapter_id,
                           adapter_path=str(adapter.path), adapter_sha256=adapter.sha256, beta=beta)
    return [float(s) for s in _run(request, timeout, still_wanted).scores]


def model_id() -> str:
    """The base model identifier results carry (the engine's resolved path)."""
    return str(Path(base_model_path()).resolve())
