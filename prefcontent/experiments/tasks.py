"""Celery tasks of the experiments domain: thin, take ids, call services."""
from __future__ import annotations

from celery import shared_task

from prefcontent.core.errors import InvalidState
from prefcontent.experiments.decisions import (
    experiment_decide,
    experiments_decide_running,
    experiments_update_thompson_weights,
)
from prefcontent.experiments.models import Experiment
from prefcontent.tenancy.principal import SYSTEM


@shared_task(name="experiments.decide_running", time_limit=600, soft_time_limit=540)
def decide_running() -> dict:
    """Evaluate every running experiment; conclude those whose winner meets the decision rules."""
    return experiments_decide_running()


@shared_task(name="experiments.decide_experiment", time_limit=120, soft_time_limit=100)
def decide_experiment(experiment_id: int) -> bool:
    """Evaluate one experiment; True when it concluded."""
    experiment = Experiment.objects.filter(pk=experiment_id).first()
    if experiment is None:
        return False
    try:
        result = experiment_decide(principal=SYSTEM, experiment=experiment)
    except InvalidState:  # never started
        return False
    return result.decision is not None and not result.earlier  # an earlier end: a duplicate delivery or a stop


@shared_task(name="experiments.update_thompson_weights", time_limit=300, soft_time_limit=270)
def update_thompson_weights() -> int:
    """Recompute the traffic weights of running Thompson experiments from their posteriors."""
    return experiments_update_thompson_weights()
