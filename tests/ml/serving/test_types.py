from __future__ import annotations

import math

import pytest

from ml.serving.types import (
    CapExceededError,
    GenerateRequest,
    InvalidRequestError,
    SamplingCaps,
    ScoreRequest,
)

CAPS = SamplingCaps(max_n=4, max_new_tokens=32, max_temperature=1.5, max_candidates=3)


def test_valid_requests_pass():
    CAPS.validate(GenerateRequest(prompt="hi", n=4, temperature=1.5, top_p=0.9, max_new_tokens=32, seed=0))
    CAPS.validate(
        GenerateRequest(prompt="hi", max_new_tokens=8, adapter_id="b", adapter_path="/x", adapter_sha256="ab" * 32)
    )
    CAPS.validate(ScoreRequest(prompt="hi", candidates=["a", "b", "c"], adapter_id="b", adapter_path="/x"))


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"n": 5}, CapExceededError, "n=5 exceeds the cap of 4"),
        ({"n": 0}, InvalidRequestError, "n must be a positive integer"),
        ({"max_new_tokens": 33}, CapExceededError, "max_new_tokens=33 exceeds the cap of 32"),
        ({"max_new_tokens": 0}, InvalidRequestError, "max_new_tokens must be a positive integer"),
        ({"temperature": 1.6}, CapExceededError, "temperature=1.6 is outside the allowed range"),
        ({"temperature": -0.1}, CapExceededError, "outside the allowed range"),
        ({"temperature": math.nan}, InvalidRequestError, "temperature must be a finite number"),
        ({"top_p": 0.0}, InvalidRequestError, "top_p must be in (0, 1]"),
        ({"top_p": 1.1}, InvalidRequestError, "top_p must be in (0, 1]"),
        ({"seed": -1}, InvalidRequestError, "seed must be a non-negative integer"),
        ({"adapter_id": "b"}, InvalidRequestError, "has no adapter_path"),
        ({"adapter_path": "/x"}, InvalidRequestError, "without an adapter_id"),
        ({"adapter_id": "b", "adapter_path": "/x", "adapter_sha256": "zz"}, InvalidRequestError, "64 hex digits"),
    ],
)
def test_generate_requests_out_of_bounds_are_rejected(changes, error, message):
    request = GenerateRequest(prompt="hi", **{"max_new_tokens": 8, **changes})
    with pytest.raises(error) as info:
        CAPS.validate(request)
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"candidates": ["a"] * 4}, CapExceededError, "4 candidates exceed the cap of 3"),
        ({"candidates": []}, InvalidRequestError, "no candidates"),
        ({"beta": 0.0}, InvalidRequestError, "beta must be a positive number"),
        ({"adapter_id": None, "adapter_path": None}, InvalidRequestError, "needs an adapter_id"),
    ],
)
def test_score_requests_out_of_bounds_are_rejected(changes, error, message):
    fields = {"prompt": "hi", "candidates": ["a"], "adapter_id": "b", "adapter_path": "/x", **changes}
    with pytest.raises(error) as info:
        CAPS.validate(ScoreRequest(**fields))
    assert message in str(info.value)
