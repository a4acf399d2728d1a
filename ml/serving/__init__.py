"""In-process generation and scoring with per-brand LoRA adapters over one shared base model.

Usage (e.g. in a long-lived worker on the `generate` queue)::

    engine = get_engine("/models/base")
    result = engine.generate(GenerateRequest(prompt="...", adapter_id="brand-7", adapter_path="/adapters/7"))
"""
from ml.serving.adapters import AdapterLoadError
from ml.serving.checksum import AdapterChecksumError, dir_checksum
from ml.serving.engine import (
    Engine,
    EngineClosedError,
    EngineConfig,
    RequestCancelledError,
    get_engine,
    running_engines,
)
from ml.serving.types import (
    CapExceededError,
    EngineStats,
    GenerateRequest,
    GenerateResult,
    InvalidRequestError,
    SamplingCaps,
    ScoreRequest,
    ScoreResult,
)

__all__ = [
    "AdapterChecksumError",
    "AdapterLoadError",
    "CapExceededError",
    "Engine",
    "EngineClosedError",
    "EngineConfig",
    "EngineStats",
    "GenerateRequest",
    "GenerateResult",
    "InvalidRequestError",
    "RequestCancelledError",
    "SamplingCaps",
    "ScoreRequest",
    "ScoreResult",
    "dir_checksum",
    "get_engine",
    "running_engines",
]
