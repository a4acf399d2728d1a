"""Celery tasks of the training domain: thin, take ids, call services."""
from __future__ import annotations

from celery import shared_task

from prefcontent.training import policies, runner
from prefcontent.training.conf import training_settings
from prefcontent.training.services import RUN_EXECUTE_TASK, training_runs_reap

# Training outlives the default 10-minute limit; a run that hits this fails and can be retried from its
# last checkpoint. Celery fixes time limits when it registers a task, so the knob is read at import.
_TIME_LIMIT_S = training_settings().task_time_limit_s


@shared_task(name=RUN_EXECUTE_TASK, time_limit=_TIME_LIMIT_S, soft_time_limit=max(_TIME_LIMIT_S - 60, 1))
def training_run_execute(run_id: int) -> str:
    """Claim and run one training run; a duplicate delivery finds it leased and returns "skipped"."""
    return runner.training_run_execute(run_id=run_id)


@shared_task(name="training.reap_runs", time_limit=120, soft_time_limit=100)
def reap_runs() -> dict:
    """Requeue runs whose lease expired and re-send queued runs nobody picked up."""
    return training_runs_reap()


@shared_task(name="training.evaluate_retrain_policies", time_limit=300, soft_time_limit=270)
def evaluate_retrain_policies() -> dict:
    """Start runs for due retrain policies, by priority, within the concurrent-run limit."""
    result = policies.retrain_policies_evaluate()
    return {"started": result.started, "skipped": result.skipped}


@shared_task(name=policies.FIRE_TASK, time_limit=300, soft_time_limit=270)
def retrain_policy_fire(brand_id: int) -> dict:
    """A policy's cron schedule fired (its beat PeriodicTask): mark it due and evaluate."""
    result = policies.retrain_policy_fire(brand_id=brand_id)
    return {"started": result.started, "skipped": result.skipped}
