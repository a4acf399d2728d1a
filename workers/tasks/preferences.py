"""Celery tasks of the preferences domain: thin, take ids, call services."""
from __future__ import annotations

from celery import shared_task


@shared_task(name="workers.tasks.preferences.build_pairs_for_experiment", time_limit=300, soft_time_limit=270)
def build_pairs_for_experiment(experiment_id: int) -> dict:
    """Turn a concluded experiment's decision into preference pairs (idempotent: a redelivery builds nothing)."""
    from prefcontent.preferences.building import pairs_build_for_experiment

    result = pairs_build_for_experiment(experiment_id=experiment_id)
    return {"experiment_id": experiment_id, "pairs": result.pairs, "active": result.active,
            "excluded": result.excluded}
