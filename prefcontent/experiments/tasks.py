"""Celery tasks of the experiments domain: thin, take ids, call services."""
from __future__ import annotations

from celery import shared_task

from prefcontent.experiments.assigned import assignments_roll
from prefcontent.experiments.decisions import (
    experiments_decide_chunk,
    experiments_decide_running,
    experiments_update_thompson_weights,
)
from prefcontent.experiments.partitions import events_partitions_ensure
from prefcontent.experiments.retention import events_retention_sweep


@shared_task(name="experiments.decide_running", time_limit=120, soft_time_limit=100)
def decide_running() -> dict:
    """Plan the decision pass and send one decide_chunk task per chunk of changed running experiments."""
    return experiments_decide_running()


@shared_task(name="experiments.decide_chunk", time_limit=300, soft_time_limit=270)
def decide_chunk(experiment_ids: list[int]) -> dict:
    """Evaluate these running experiments; conclude those whose winner meets the decision rules."""
    return experiments_decide_chunk(experiment_ids=experiment_ids)


@shared_task(name="experiments.update_thompson_weights", time_limit=300, soft_time_limit=270)
def update_thompson_weights() -> int:
    """Recompute the traffic weights of running Thompson experiments from their posteriors."""
    return experiments_update_thompson_weights()


@shared_task(name="experiments.sweep_event_retention", time_limit=3600, soft_time_limit=3500)
def sweep_event_retention() -> dict:
    """Drop the raw events of experiments that ended longer ago than their brand's retention window."""
    return events_retention_sweep()


@shared_task(name="experiments.ensure_event_partitions", time_limit=600, soft_time_limit=540)
def ensure_event_partitions() -> list[str]:
    """Make the events table's day partitions for today and the week ahead (PostgreSQL; nothing on SQLite)."""
    return [day.isoformat() for day in events_partitions_ensure()]


@shared_task(name="experiments.roll_assignments", time_limit=300, soft_time_limit=270)
def roll_assignments() -> int:
    """Add the assignments stored since the last roll to their arms' counters (assigned.py)."""
    return assignments_roll()
