"""A real Celery worker subprocess on the configured broker executes a task end to end."""
import time
import uuid

import pytest

from prefcontent.core.models import WorkerHeartbeat
from prefcontent.core.tasks import ping


@pytest.mark.smoke
@pytest.mark.slow
def test_worker_process_runs_a_task(celery_worker):
    marker = f"t-{uuid.uuid4().hex}"
    ping.delay(marker)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not WorkerHeartbeat.objects.filter(marker=marker).exists():
        time.sleep(0.1)
    assert WorkerHeartbeat.objects.filter(marker=marker).exists(), celery_worker.log()


def test_celery_settings_follow_the_job_rules():
    from prefcontent.celery import app

    assert app.conf.task_acks_late is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_time_limit and app.conf.task_soft_time_limit
    assert {q.name for q in app.conf.task_queues} == {"default", "gpu", "generate"}
