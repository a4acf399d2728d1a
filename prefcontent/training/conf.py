"""Training knobs: Django settings first, then the environment, then the product default.

settings.py does not list these yet; reading the environment as a fallback lets a test pass
short lease timings to a real worker subprocess through its environment.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from django.conf import settings


def _knob(name: str, default: float) -> float:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name)
    return type(default)(value) if value not in (None, "") else default


@dataclass(frozen=True)
class TrainingSettings:
    """Timings and limits of training runs."""

    lease_s: float  # a claimed run belongs to its worker for this long unless renewed
    heartbeat_s: float  # how often the worker renews its lease and reads the cancel flag
    max_attempts: int  # claims before the reaper gives up on a run
    requeue_after_s: float  # a queued run nobody picked up this long is enqueued again
    runs_per_brand_per_day: int  # creation quota per brand over a rolling 24 hours
    checkpoint_every: int  # default optimizer steps between checkpoints
    task_time_limit_s: int  # hard Celery time limit of one execution


def training_settings() -> TrainingSettings:
    return TrainingSettings(
        lease_s=_knob("TRAINING_LEASE_SECONDS", 120.0),
        heartbeat_s=_knob("TRAINING_HEARTBEAT_SECONDS", 10.0),
        max_attempts=_knob("TRAINING_MAX_ATTEMPTS", 3),
        requeue_after_s=_knob("TRAINING_REQUEUE_AFTER_SECONDS", 1800.0),
        runs_per_brand_per_day=_knob("TRAINING_RUNS_PER_BRAND_PER_DAY", 20),
        checkpoint_every=_knob("TRAINING_CHECKPOINT_EVERY", 10),
        task_time_limit_s=_knob("TRAINING_TASK_TIME_LIMIT", 6 * 3600),
    )
