from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from ml.serving import Engine, EngineConfig
from ml.serving.random_adapters import make_random_adapter
from ml.tiny import build_tiny_model


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny_model"))


@pytest.fixture(scope="session")
def adapters(tiny_model, tmp_path_factory) -> dict[str, Path]:
    """Four random adapters: brand-0..brand-3 (ranks 8, 16, 8, 16)."""
    root = tmp_path_factory.mktemp("adapters")
    return {
        f"brand-{i}": make_random_adapter(tiny_model, root / f"brand-{i}", seed=100 + i, rank=8 if i % 2 == 0 else 16)
        for i in range(4)
    }


@pytest.fixture
def make_engine(tiny_model):
    engines: list[Engine] = []

    def factory(**overrides) -> Engine:
        engine = Engine(tiny_model, EngineConfig(**overrides))
        engines.append(engine)
        return engine

    yield factory
    for engine in engines:
        engine.close()
