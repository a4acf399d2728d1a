"""Metrics computed at scrape time: training runs by state (database), Celery queue lengths (broker).

Only the web process's /metrics serves these (they describe shared state, so one scrape
target is enough); they are never registered in the global registry, so that worker
exporters and the per-process multiprocess files never touch the database or the broker.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from prometheus_client.core import GaugeMetricFamily, Metric

from prefcontent.core.metrics import NAMESPACE

log = logging.getLogger(__name__)

# Broker calls must not hang a scrape (Prometheus times out at 10 s by default).
_BROKER_TIMEOUT_S = 2.0


def _up(collector: str, ok: bool) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        f"{NAMESPACE}_collector_up",
        "1 when a scrape-time collector could read its source (database or broker), else 0.",
        labels=["collector"],
    )
    family.add_metric([collector], 1.0 if ok else 0.0)
    return family


@dataclass
class TrainingRunsCollector:
    """prefcontent_training_runs{state}: TrainingRun rows per state, one GROUP BY per scrape.

    Every state in the field's choices is reported, zeros included, so graphs have no gaps.
    Tolerates a project where the model does not exist (reports nothing) or its table is
    missing or unreadable (reports collector_up 0).
    """

    app_label: str = "training"
    model_name: str = "TrainingRun"
    state_field: str = "state"

    def collect(self) -> Iterator[Metric]:
        from django.apps import apps
        from django.db import DatabaseError, transaction
        from django.db.models import Count

        try:
            model = apps.get_model(self.app_label, self.model_name)
        except LookupError:
            return
        choices = model._meta.get_field(self.state_field).choices or []
        counts = {value: 0 for value, _ in choices}
        try:
            # A savepoint, so that a failing query cannot break a surrounding transaction.
            with transaction.atomic():
                rows = model.objects.values(self.state_field).annotate(n=Count("pk")).order_by()
                counts.update({row[self.state_field]: row["n"] for row in rows})
        except DatabaseError as exc:
            log.warning("training_runs collector failed: %s", type(exc).__name__)
            yield _up("training_runs", False)
            return
        family = GaugeMetricFamily(
            f"{NAMESPACE}_training_runs", "Training runs by state, read from the database.", labels=["state"]
        )
        for state, n in sorted(counts.items()):
            family.add_metric([str(state)], float(n))
        yield family
        yield _up("training_runs", True)


@dataclass
class CeleryQueueLengthCollector:
    """prefcontent_celery_queue_length{queue}: messages waiting (not yet delivered) per queue.

    Redis brokers: LLEN of the queue's list and of its priority sub-lists (kombu's layout).
    Filesystem broker: the number of message files for the queue in the input folder.
    Other transports report nothing (and collector_up 0).
    """

    broker_url: str
    transport_options: dict = field(default_factory=dict)
    queues: tuple[str, ...] = ()

    @classmethod
    def from_celery_app(cls) -> CeleryQueueLengthCollector:
        from celery import current_app as app

        return cls(
            broker_url=app.conf.broker_url or "",
            transport_options=dict(app.conf.broker_transport_options or {}),
            queues=tuple(q.name for q in app.conf.task_queues or ()),
        )

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            f"{NAMESPACE}_celery_queue_length", "Messages waiting in a Celery queue.", labels=["queue"]
        )
        scheme = self.broker_url.split("://", 1)[0]
        try:
            if scheme in ("redis", "rediss"):
                lengths = self._redis_lengths()
            elif scheme == "filesystem":
                lengths = self._filesystem_lengths()
            else:
                yield _up("celery_queue_length", False)
                return
        except Exception as exc:  # noqa: BLE001 - any broker failure is reported as collector_up 0
            log.warning("celery_queue_length collector failed: %s", type(exc).__name__)
            yield _up("celery_queue_length", False)
            return
        for queue, n in lengths.items():
            family.add_metric([queue], float(n))
        yield family
        yield _up("celery_queue_length", True)

    def _redis_lengths(self) -> dict[str, int]:
        import redis
        from kombu.transport.redis import PRIORITY_STEPS, Channel

        # kombu keeps priority p > 0 of queue q in the list f"{q}{sep}{p}"; sum them all.
        sep = self.transport_options.get("sep", Channel.sep)
        steps = self.transport_options.get("priority_steps", PRIORITY_STEPS)
        prefix = self.transport_options.get("global_keyprefix", "")
        client = redis.Redis.from_url(
            self.broker_url, socket_timeout=_BROKER_TIMEOUT_S, socket_connect_timeout=_BROKER_TIMEOUT_S
        )
        try:
            pipe = client.pipeline(transaction=False)
            keys = {q: [f"{prefix}{q}"] + [f"{prefix}{q}{sep}{p}" for p in steps if p] for q in self.queues}
            for queue_keys in keys.values():
                for key in queue_keys:
                    pipe.llen(key)
            results = iter(pipe.execute())
            return {q: sum(next(results) for _ in queue_keys) for q, queue_keys in keys.items()}
        finally:
            client.close()

    def _filesystem_lengths(self) -> dict[str, int]:
        folder = self.transport_options.get("data_folder_in", "data_folder")
        # kombu names each message file "<ms>_<uuid>.<queue>.msg".
        names = _file_names(folder)
        return {q: sum(1 for n in names if n.partition(".")[2] == f"{q}.msg") for q in self.queues}


def _file_names(folder: str) -> Iterable[str]:
    try:
        return os.listdir(folder)
    except FileNotFoundError:
        return []
