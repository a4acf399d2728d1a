from __future__ import annotations

from prefcontent.core.models import WorkerHeartbeat


def heartbeat_record(*, marker: str) -> WorkerHeartbeat:
    obj, _ = WorkerHeartbeat.objects.get_or_create(marker=marker)
    return obj
