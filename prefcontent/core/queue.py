"""The one way a service enqueues work: by task name, without making the broker a point of failure.

Services never import a tasks module; they send a task name declared beside them. Callers keep
the work in the database (a row in a state a periodic task picks up), so a broker outage delays
the work instead of losing it or failing the request that caused it.
"""
from __future__ import annotations

import logging

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue(name: str, *, args: list | tuple = (), **options) -> bool:
    """Send task `name` now; if the broker cannot take it, log and return False.

    With CELERY_TASK_ALWAYS_EAGER the task runs inline, as `apply_async` would run it (`send_task`
    alone ignores that setting).
    """
    try:
        if current_app.conf.task_always_eager:
            current_app.autodiscover_tasks(force=True)  # every installed app's tasks.py, as a worker loads them
            current_app.tasks[name].apply_async(args=list(args), **options)
        else:
            current_app.send_task(name, args=list(args), **options)
    except Exception:  # noqa: BLE001 - kombu raises several error types for an unreachable broker
        logger.warning("could not send task %s; a periodic task will pick the work up", name, exc_info=True)
        return False
    return True


def enqueue_on_commit(name: str, *, args: list | tuple = (), **options) -> None:
    """Send task `name` once the current transaction commits, so a worker never sees an unwritten row."""
    transaction.on_commit(lambda: enqueue(name, args=args, **options))
