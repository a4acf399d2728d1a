"""Training knobs: Django settings first, then the environment, then the product default.

Read through prefcontent.core.knobs (settings, then the environment, then the default).
"""
from __future__ import annotations

from dataclasses import dataclass

from prefcontent.core.knobs import knob


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
        lease_s=knob("TRAINING_LEASE_SECONDS", 120.0),
        heartbeat_s=knob("TRAINING_HEARTBEAT_SECONDS", 10.0),
        max_attempts=knob("TRAINING_MAX_ATTEMPTS", 3),
        requeue_after_s=knob("TRAINING_REQUEUE_AFTER_SECONDS", 1800.0),
        runs_per_brand_per_day=knob("TRAINING_RUNS_PER_BRAND_PER_DAY", 20),
        checkpoint_every=knob("TRAINING_CHECKPOINT_EVERY", 10),
        task_time_limit_s=knob("TRAINING_TASK_TIME_LIMIT", 6 * 3600),
    )
