"""Sending a Celery task from a service without making the broker a point of failure."""
from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def send_task_or_log(name: str, *, args: list | None = None, **options) -> bool:
    """Send task `name`; if the broker cannot take it, log and return False.

    Callers keep the work in the database (a row in a state a periodic task picks up), so a
    broker outage delays the work instead of losing it or failing the request that caused it.
    """
    from workers.celery import app

    try:
        app.send_task(name, args=args or [], **options)
    except Exception:  # noqa: BLE001 - kombu raises several error types for an unreachable broker
        logger.warning("could not send task %s; a periodic task will pick the work up", name, exc_info=True)
        return False
    return True
