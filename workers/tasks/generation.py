"""Celery tasks of the generation domain: thin, take ids, call services.

`workers.tasks.generate.*` run on a generate shard's queue ("generate" or "generate.<k>"),
whose long-lived worker keeps the base model and warm adapters loaded between tasks.
"""
from __future__ import annotations

import socket

from celery import shared_task

from prefcontent.generation.conf import generation_settings

_TIME_LIMIT_S = generation_settings().task_time_limit_s  # Celery fixes time limits when it registers a task


def _worker_name(task) -> str:
    return getattr(task.request, "hostname", None) or socket.gethostname()


@shared_task(bind=True, name="workers.tasks.generate.run_job", acks_late=True,
             time_limit=_TIME_LIMIT_S, soft_time_limit=_TIME_LIMIT_S - 10)
def run_job(self, job_id: int) -> str | None:
    """Run a queued generate or score job; a duplicate delivery finds it taken and returns None."""
    from prefcontent.generation.execution import generation_job_execute

    job = generation_job_execute(job_id=job_id, worker=_worker_name(self))
    return job.state if job is not None else None


@shared_task(bind=True, name="workers.tasks.generate.shard_heartbeat", time_limit=30, soft_time_limit=20)
def shard_heartbeat(self, shard: int) -> int:
    """Answered by whichever worker consumes the shard's queue: proof that the shard is live."""
    from prefcontent.generation.sharding import shard_heartbeat_record

    shard_heartbeat_record(shard=shard, worker=_worker_name(self))
    return shard


@shared_task(name="workers.tasks.generation.ping_shards", time_limit=30, soft_time_limit=20)
def ping_shards() -> int:
    """Beat: send a heartbeat ping to every shard queue; a ping nobody takes in time expires unanswered."""
    from prefcontent.generation.sharding import shard_queue

    cfg = generation_settings()
    for shard in range(cfg.shards):
        shard_heartbeat.apply_async(args=[shard], queue=shard_queue(shard), expires=cfg.shard_ttl_s)
    return cfg.shards


@shared_task(name="workers.tasks.generation.reap_jobs", time_limit=60, soft_time_limit=50)
def reap_jobs() -> dict:
    """Beat: fail jobs whose worker vanished and move queued jobs off shards that are gone."""
    from prefcontent.generation.services import generation_jobs_reap

    return generation_jobs_reap()
