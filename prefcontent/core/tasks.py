"""Celery tasks of the ground floor: thin, take plain values, call a service."""
from __future__ import annotations

from celery import shared_task

from prefcontent.core.services import heartbeat_record


@shared_task(name="core.ping", time_limit=30, soft_time_limit=20)
def ping(marker: str) -> str:
    """Write `marker` to the database so a test can see a real worker ran it."""
    heartbeat_record(marker=marker)
    return marker
