"""Owning a running row: the atomic claim, and the heartbeat that renews the lease and reads the cancel flag."""
from __future__ import annotations

import logging
import threading
from datetime import timedelta

from django.db import close_old_connections, connection
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from prefcontent.training.conf import TrainingSettings
from prefcontent.training.models import TrainingRun

logger = logging.getLogger(__name__)
State = TrainingRun.State


def training_run_claim(*, run_id: int, owner: str, cfg: TrainingSettings) -> TrainingRun | None:
    """Take a queued run with one UPDATE; None when it is not queued (a duplicate delivery, a cancel)."""
    now = timezone.now()
    claimed = TrainingRun.objects.filter(pk=run_id, state=State.QUEUED, attempts__lt=F("max_attempts")).update(
        state=State.RUNNING, lease_owner=owner, lease_expires_at=now + timedelta(seconds=cfg.lease_s),
        attempts=F("attempts") + 1, started_at=Coalesce(F("started_at"), Value(now)), updated_at=now,
    )
    return TrainingRun.objects.select_related("brand", "snapshot", "parent_adapter").get(pk=run_id) if claimed else None


def owned(run_id: int, owner: str):
    """The run's row, only while this owner still holds it running; every worker write goes through it."""
    return TrainingRun.objects.filter(pk=run_id, lease_owner=owner, state=State.RUNNING)


class LeaseKeeper:
    """A thread that renews the lease every `heartbeat_s` and notices a cancel request or a lost lease."""

    def __init__(self, run_id: int, owner: str, cfg: TrainingSettings) -> None:
        self.run_id, self.owner, self.cfg = run_id, owner, cfg
        self.cancelled = threading.Event()
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"lease-run-{run_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.cfg.heartbeat_s + 5)

    def should_stop(self) -> bool:
        """Polled by the training loop between optimizer steps."""
        return self.cancelled.is_set() or self.lost.is_set()

    def beat(self) -> None:
        renewed = owned(self.run_id, self.owner).update(
            lease_expires_at=timezone.now() + timedelta(seconds=self.cfg.lease_s))
        if not renewed:
            self.lost.set()
            return
        if owned(self.run_id, self.owner).filter(cancel_requested=True).exists():
            self.cancelled.set()

    def _loop(self) -> None:
        try:
            while not self._stop.wait(self.cfg.heartbeat_s):
                try:
                    self.beat()
                except Exception:  # a database blip must not kill the heartbeat; the lease has slack
                    logger.exception("heartbeat of run %s failed", self.run_id)
                    close_old_connections()
                if self.lost.is_set():
                    logger.warning("run %s: lease lost by %s", self.run_id, self.owner)
                    return
        finally:
            connection.close()
