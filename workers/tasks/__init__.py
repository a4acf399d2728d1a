"""Thin Celery tasks: take ids, import a service inside the body, call it."""
from workers.tasks.system import ping  # noqa: F401
