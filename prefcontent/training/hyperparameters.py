"""The schema of the hyperparameters a client may set on a training run or a retrain policy.

`ml.TrainConfig` checks what makes a run meaningless (a negative beta), not what keeps it within
the machine: `max_steps: 10**12` fits its checks, overflows the run's step counter and would train
forever. Each key here has a JSON type and a range; `hyperparameters_check` names every bad key.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

MAX_STEPS = 100_000  # optimizer steps of one run: hours on a GPU for the adapters we train


@dataclass(frozen=True)
class _Int:
    low: int
    high: int
    nullable: bool = False

    def problem(self, value: Any) -> str | None:
        if value is None and self.nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not self.low <= value <= self.high:
            return f"must be an integer in [{self.low}, {self.high}]" + (" or null" if self.nullable else "")
        return None

    def schema(self) -> dict:
        return {"type": "integer", "minimum": self.low, "maximum": self.high, "nullable": self.nullable}


@dataclass(frozen=True)
class _Float:
    low: float
    high: float
    low_open: bool = False
    high_open: bool = False

    def problem(self, value: Any) -> str | None:
        ok = not isinstance(value, bool) and isinstance(value, (int, float))
        if ok:
            number = float(value) if abs(value) < 1e300 else math.inf
            ok = math.isfinite(number) and (number > self.low if self.low_open else number >= self.low) and (
                number < self.high if self.high_open else number <= self.high)
        if ok:
            return None
        return (f"must be a number in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}"
                f"{')' if self.high_open else ']'}")

    def schema(self) -> dict:
        return {"type": "number", "minimum": self.low, "maximum": self.high,
                "exclusiveMinimum": self.low_open, "exclusiveMaximum": self.high_open}


@dataclass(frozen=True)
class _Choice:
    options: tuple

    def problem(self, value: Any) -> str | None:
        if isinstance(value, bool) or value not in self.options:
            return f"must be one of {', '.join(map(str, self.options))}"
        return None

    def schema(self) -> dict:
        kind = "integer" if all(isinstance(o, int) for o in self.options) else "string"
        return {"type": kind, "enum": list(self.options)}


def _schema() -> dict:
    from prefcontent.training.facade import train_config_choices

    loss_types, f_divergences, lora_ranks = train_config_choices()
    return {
        "beta": _Float(0, 100, low_open=True),
        "loss_type": _Choice(loss_types),
        "label_smoothing": _Float(0, 0.5, high_open=True),
        "f_divergence": _Choice(f_divergences),
        "rpo_alpha": _Float(0, 100),
        "entropy_floor": _Float(0, 100),
        "lr": _Float(0, 1, low_open=True),
        "weight_decay": _Float(0, 10),
        "warmup_steps": _Int(0, MAX_STEPS),
        "lr_schedule": _Choice(("cosine", "linear", "constant")),
        "epochs": _Int(1, 1000),
        "max_steps": _Int(1, MAX_STEPS, nullable=True),
        "batch_size": _Int(1, 1024),
        "grad_accum": _Int(1, 1024),
        "max_grad_norm": _Float(0, 1e6),
        "lora_rank": _Choice(lora_ranks),
        "lora_alpha": _Int(1, 4096),
        "lora_dropout": _Float(0, 1, high_open=True),
        "checkpoint_every": _Int(0, MAX_STEPS),
        "eval_every": _Int(0, MAX_STEPS),
        "seed": _Int(0, 2**31 - 1),
    }


HYPERPARAMETERS = _schema()


def hyperparameters_check(requested: Any) -> dict[str, str]:
    """{key: what is wrong} for every unknown key or bad value ({} when all are fine)."""
    if not isinstance(requested, dict):
        return {"hyperparameters": "must be an object"}
    problems = {}
    for key, value in requested.items():
        rule = HYPERPARAMETERS.get(key)
        problem = "is not a known hyperparameter" if rule is None else rule.problem(value)
        if problem:
            problems[str(key)] = problem
    return problems


def hyperparameters_schema() -> dict:
    return {"type": "object", "additionalProperties": False,
            "properties": {key: rule.schema() for key, rule in HYPERPARAMETERS.items()}}


@extend_schema_field(hyperparameters_schema())
class HyperparametersField(serializers.DictField):
    """A hyperparameters object; the training services check each key (`hyperparameters_check`)."""
