"""The Celery app: queues `default`, `gpu` (training, concurrency 1) and `generate` (long-lived model).

Settings come from Django's settings (CELERY_*). Tasks are thin: they take ids and call a
service. The request id of the HTTP request that caused a task travels in its headers.
"""
from __future__ import annotations

import os

from celery import Celery, signals
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prefcontent.settings")

QUEUES = ("default", "gpu", "generate")

app = Celery("prefcontent")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = tuple(Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES)
app.conf.task_default_exchange = "default"
app.conf.task_default_routing_key = "default"
app.conf.task_default_queue = "default"
# Tasks named workers.tasks.gpu.* / workers.tasks.generate.* go to the GPU / generation workers.
app.conf.task_routes = {
    "workers.tasks.gpu.*": {"queue": "gpu"},
    "workers.tasks.generate.*": {"queue": "generate"},
}
app.autodiscover_tasks(["workers"], related_name="tasks")


def _beat_schedule() -> dict:
    from workers.schedule import BEAT_SCHEDULE

    return BEAT_SCHEDULE


app.conf.beat_schedule = _beat_schedule()


@signals.before_task_publish.connect
def _attach_request_id(headers=None, **_):
    from prefcontent.core.logging import current_request_id

    rid = current_request_id()
    if headers is not None and rid and "request_id" not in headers:
        headers["request_id"] = rid


@signals.task_prerun.connect
def _restore_request_id(task=None, **_):
    from prefcontent.core.logging import request_id_var

    request = getattr(task, "request", None)
    if request is None or request.is_eager:
        # An eager task runs inside its caller (a request, a test) and keeps the caller's id.
        return
    rid = getattr(request, "request_id", None) or (request.headers or {}).get("request_id", "")
    request_id_var.set(rid or "")
