"""Periodic tasks, synced into django-celery-beat's tables by the one scheduler process.

Each domain adds its entries here: name -> {"task": ..., "schedule": seconds or crontab}.
"""
from __future__ import annotations

BEAT_SCHEDULE: dict[str, dict] = {
    # training: requeue runs whose worker died (lease expired) and re-send runs the broker lost.
    "training-reap-runs": {"task": "workers.tasks.training.reap_runs", "schedule": 30.0},
    # training: start runs for due retrain policies (threshold reached or cron fired), by priority.
    "training-evaluate-retrain-policies": {"task": "workers.tasks.training.evaluate_retrain_policies",
                                           "schedule": 60.0},
    # experiments: conclude running experiments whose winner meets the decision rules.
    "experiments-decide-running": {"task": "workers.tasks.experiments.decide_running", "schedule": 300.0},
    # experiments: Thompson allocation follows the posteriors (new units only; assignments are sticky).
    "experiments-thompson-weights": {"task": "workers.tasks.experiments.update_thompson_weights", "schedule": 60.0},
    # generation: ping every generate shard (live shards own brands), and reap lost or stranded jobs.
    "generation-ping-shards": {"task": "workers.tasks.generation.ping_shards", "schedule": 30.0},
    "generation-reap-jobs": {"task": "workers.tasks.generation.reap_jobs", "schedule": 60.0},
    # preferences: build pairs for winners whose build task was never sent (broker down at decision time).
    "preferences-build-pending-pairs": {"task": "workers.tasks.preferences.build_pending_pairs", "schedule": 120.0},
}
