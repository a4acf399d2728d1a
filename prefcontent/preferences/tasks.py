"""Celery tasks of the preferences domain: thin, take ids, call services."""
from __future__ import annotations

from celery import shared_task

from prefcontent.experiments.decisions import BUILD_PAIRS_TASK
from prefcontent.preferences.building import pairs_build_for_experiment
from prefcontent.preferences.services import pairs_build_pending


@shared_task(name=BUILD_PAIRS_TASK, time_limit=300, soft_time_limit=270)
def build_pairs_for_experiment(experiment_id: int) -> dict:
    """Turn a concluded experiment's decision into preference pairs (idempotent: a redelivery builds nothing)."""
    result = pairs_build_for_experiment(experiment_id=experiment_id)
    return {"experiment_id": experiment_id, "pairs": result.pairs, "active": result.active,
            "excluded": result.excluded}


@shared_task(name="preferences.build_pending_pairs", time_limit=600, soft_time_limit=570)
def build_pending_pairs() -> dict:
    """Periodic safety net: pairs for recent winners whose build task never ran (e.g. broker down)."""
    result = pairs_build_pending()
    return {"experiments": result.experiments, "pairs": result.pairs}
