"""Thin Celery tasks: take ids, import a service inside the body, call it. One module per domain."""
from workers.tasks import experiments, generation, preferences, system, training  # noqa: F401
