"""Fixtures shared by the ML worker tests: tiny random Llama models, built once per session."""
from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from ml.tiny import build_tiny_model


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    # Up to six engineers share two cores; one thread keeps these tests from fighting.
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory) -> str:
    """Path of a tiny random Llama + tokenizer (hidden 32, 2 layers)."""
    return str(build_tiny_model(tmp_path_factory.mktemp("tiny") / "base"))


@pytest.fixture(scope="session")
def tokenizer(tiny_base):
    from ml.adapters import load_tokenizer

    return load_tokenizer(tiny_base)
