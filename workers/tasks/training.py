"""Celery tasks of the training domain: thin, take ids, call services."""
from __future__ import annotations

import os

from celery import shared_task

# Training outlives the default 10-minute limit; a run that hits this fails and can be retried
# from its last checkpoint.
_TIME_LIMIT = int(os.environ.get("TRAINING_TASK_TIME_LIMIT", str(6 * 3600)))


@shared_task(name="workers.tasks.gpu.training_run_execute", time_limit=_TIME_LIMIT,
             soft_time_limit=max(_TIME_LIMIT - 60, 1))
def training_run_execute(run_id: int) -> str:
    """Claim and run one training run; a duplicate delivery finds it leased and returns "skipped"."""
    from prefcontent.training.runner import training_run_execute as execute

    return execute(run_id=run_id)


@shared_task(name="workers.tasks.training.reap_runs", time_limit=120, soft_time_limit=100)
def reap_runs() -> dict:
    """Requeue runs whose lease expired and re-send queued runs nobody picked up."""
    from prefcontent.training.services import training_runs_reap

    return training_runs_reap()


@shared_task(name="workers.tasks.training.evaluate_retrain_policies", time_limit=300, soft_time_limit=270)
def evaluate_retrain_policies() -> dict:
    """Start runs for due retrain policies, by priority, within the concurrent-run limit."""
    from prefcontent.training.policies import retrain_policies_evaluate

    result = retrain_policies_evaluate()
    return {"started": result.started, "skipped": result.skipped}


@shared_task(name="workers.tasks.training.retrain_policy_fire", time_limit=300, soft_time_limit=270)
def retrain_policy_fire(brand_id: int) -> dict:
    """A policy's cron schedule fired (its beat PeriodicTask): mark it due and evaluate."""
    from prefcontent.training.policies import retrain_policy_fire as fire

    result = fire(brand_id=brand_id)
    return {"started": result.started, "skipped": result.skipped}
