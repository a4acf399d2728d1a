"""The Celery app: queues, routes by task name, the beat schedule.

Queues: `default`, `gpu` (training, concurrency 1) and `generate` (long-lived model; shards
`generate.<k>`). Settings come from Django's settings (CELERY_*). Each app's `tasks.py` holds
thin tasks named `<app>.<verb>`; services send them by name through `prefcontent.core.queue`.
The request id of the HTTP request that caused a task travels in its headers.
"""
from __future__ import annotations

import os

from celery import Celery, signals
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prefcontent.settings")

QUEUES = ("default", "gpu", "generate")

# Task name -> queue, for the tasks that do not run on `default`. Generation jobs name their
# shard's queue when they are sent; this route is shard 0's.
ROUTES = {
    "training.run_execute": {"queue": "gpu"},
    "generation.run_job": {"queue": "generate"},
    "generation.shard_heartbeat": {"queue": "generate"},
}

# Periodic tasks, synced into django-celery-beat's tables by the one scheduler process.
BEAT_SCHEDULE: dict[str, dict] = {
    # training: requeue runs whose worker died (lease expired) and re-send runs the broker lost.
    "training-reap-runs": {"task": "training.reap_runs", "schedule": 30.0},
    # training: start runs for due retrain policies (threshold reached or cron fired), by priority.
    "training-evaluate-retrain-policies": {"task": "training.evaluate_retrain_policies", "schedule": 60.0},
    # experiments: plan the decision pass (changed experiments, oldest analysed first) and send its chunks.
    "experiments-decide-running": {"task": "experiments.decide_running", "schedule": 300.0},
    # experiments: drop raw events of experiments ended longer ago than the brand's retention window.
    "experiments-sweep-event-retention": {"task": "experiments.sweep_event_retention", "schedule": 3600.0},
    # experiments: keep a week of day partitions of the events table made ahead (PostgreSQL).
    "experiments-ensure-event-partitions": {"task": "experiments.ensure_event_partitions", "schedule": 3600.0},
    # experiments: roll new assignments into the arms' counters, so a decision reads few assignment rows.
    "experiments-roll-assignments": {"task": "experiments.roll_assignments", "schedule": 60.0},
    # experiments: Thompson allocation follows the posteriors (new units only; assignments are sticky).
    "experiments-thompson-weights": {"task": "experiments.update_thompson_weights", "schedule": 60.0},
    # generation: ping every generate shard (live shards own brands), and reap lost or stranded jobs.
    "generation-ping-shards": {"task": "generation.ping_shards", "schedule": 30.0},
    "generation-reap-jobs": {"task": "generation.reap_jobs", "schedule": 60.0},
    # preferences: build pairs for winners whose build task was never sent (broker down at decision time).
    "preferences-build-pending-pairs": {"task": "preferences.build_pending_pairs", "schedule": 120.0},
    # brands: erase what deleted brands left outside the database (store, work dirs, workers) until it is gone.
    "brands-sweep-erasures": {"task": "brands.sweep_erasures", "schedule": 60.0},
}

app = Celery("prefcontent")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = tuple(Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES)
app.conf.task_default_exchange = "default"
app.conf.task_default_routing_key = "default"
app.conf.task_default_queue = "default"
app.conf.task_routes = ROUTES
app.conf.beat_schedule = BEAT_SCHEDULE
app.autodiscover_tasks()  # every installed app's tasks.py


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
