from __future__ import annotations

from celery import shared_task


@shared_task(name="workers.tasks.system.ping", time_limit=30, soft_time_limit=20)
def ping(marker: str) -> str:
    """Write `marker` to the database so a test can see a real worker ran it."""
    from prefcontent.core.services import heartbeat_record

    heartbeat_record(marker=marker)
    return marker
