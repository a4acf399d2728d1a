"""Celery tasks of the generation domain: thin, take ids, call services.

`generation.run_job` and `generation.shard_heartbeat` run on a generate shard's queue ("generate"
or "generate.<k>"), whose long-lived worker keeps the base model and warm adapters loaded.
"""
from __future__ import annotations

import socket

from celery import shared_task

from prefcontent.generation import facade
from prefcontent.generation.conf import generation_settings
from prefcontent.generation.execution import generation_job_execute
from prefcontent.generation.services import RUN_JOB_TASK, generation_jobs_reap
from prefcontent.generation.sharding import (
    EVICT_BRAND_TASK,
    SHARD_HEARTBEAT_TASK,
    shard_heartbeat_record,
    shards_ping,
)

_TIME_LIMIT_S = generation_settings().task_time_limit_s  # Celery fixes time limits when it registers a task


def _worker_name(task) -> str:
    return getattr(task.request, "hostname", None) or socket.gethostname()


@shared_task(bind=True, name=RUN_JOB_TASK, acks_late=True,
             time_limit=_TIME_LIMIT_S, soft_time_limit=_TIME_LIMIT_S - 10)
def run_job(self, job_id: int) -> str | None:
    """Run a queued generate or score job; a duplicate delivery finds it taken and returns None."""
    job = generation_job_execute(job_id=job_id, worker=_worker_name(self))
    return job.state if job is not None else None


@shared_task(bind=True, name=SHARD_HEARTBEAT_TASK, time_limit=30, soft_time_limit=20)
def shard_heartbeat(self, shard: int) -> int:
    """Answered by whichever worker consumes the shard's queue: proof that the shard is live."""
    shard_heartbeat_record(shard=shard, worker=_worker_name(self))
    return shard


@shared_task(name=EVICT_BRAND_TASK, time_limit=60, soft_time_limit=50)
def evict_brand(brand_id: int) -> int:
    """An erased brand's adapters leave this worker's engine (sent to every shard queue by the erasure sweep)."""
    return facade.evict_brand_adapters(brand_id)


@shared_task(name="generation.ping_shards", time_limit=30, soft_time_limit=20)
def ping_shards() -> int:
    """Beat: send a heartbeat ping to every shard queue; a ping nobody takes in time expires unanswered."""
    return shards_ping()


@shared_task(name="generation.reap_jobs", time_limit=60, soft_time_limit=50)
def reap_jobs() -> dict:
    """Beat: fail jobs whose worker vanished and move queued jobs off shards that are gone."""
    return generation_jobs_reap()
