"""Erasing what a deleted brand leaves outside the database, retried until it is all gone.

`brand_delete` deletes the rows and, in the same transaction, writes a `PendingErasure` row
naming the brand and its training runs. `brand_erasures_sweep` (after the commit, then every
minute from beat) removes the brand's models-store prefix and every `WORK_DIR/training/run-<id>/`
(checkpoints of failed, cancelled and running runs: weights, optimizer state, reference
log-probs), and asks every generate worker to unload the brand's adapters. The row goes only
when a pass found nothing left after the grace period: a worker still training one of the
brand's runs writes until it notices its lost lease (within a lease), so files can reappear.
"""
from __future__ import annotations

import logging
import shutil
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from prefcontent.brands.erasure_models import PendingErasure

logger = logging.getLogger(__name__)
ERASURE_SWEEP_TASK = "brands.sweep_erasures"


def brand_erasure_record(*, brand_id: int, run_ids: list[int]) -> PendingErasure:
    """Record, inside the deleting transaction, what the sweep must remove (no principal: brand_delete checked)."""
    return PendingErasure.objects.update_or_create(brand_id=brand_id, defaults={"run_ids": sorted(run_ids)})[0]


def _grace() -> timedelta:
    from prefcontent.training.conf import training_settings

    cfg = training_settings()
    return timedelta(seconds=cfg.lease_s + cfg.heartbeat_s)


def _run_dir(run_id: int) -> Path:
    return Path(settings.WORK_DIR) / "training" / f"run-{run_id}"


def _erase(row: PendingErasure) -> bool:
    """One pass; True when nothing of the brand was found left on disk or in the store."""
    from models_store import get_store
    from prefcontent.brands.services import brand_artifact_prefix
    from prefcontent.generation.sharding import brand_evict_everywhere

    store = get_store(settings.MODELS_STORE_URL)
    prefix = brand_artifact_prefix(row.brand_id)
    found = bool(store.list(prefix))
    store.delete_prefix(prefix)
    for run_id in row.run_ids:
        directory = _run_dir(run_id)
        if directory.exists():
            found = True
            shutil.rmtree(directory)
    brand_evict_everywhere(brand_id=row.brand_id)
    return not found and not store.list(prefix)


def brand_erasures_sweep(*, now=None) -> dict:
    """Run a pass over every pending erasure; {"erased": rows finished, "pending": rows left}."""
    now = now or timezone.now()
    erased = 0
    rows = list(PendingErasure.objects.all())
    for row in rows:
        row.attempts += 1
        row.last_attempt_at = now
        try:
            clean = _erase(row)
        except Exception as exc:  # a store or disk error: keep the row, try again next sweep
            logger.exception("erasure of brand %s failed (attempt %s)", row.brand_id, row.attempts)
            row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            row.save(update_fields=["attempts", "last_attempt_at", "last_error"])
            continue
        if clean and now >= row.requested_at + _grace():
            row.delete()
            erased += 1
        else:
            row.last_error = ""
            row.save(update_fields=["attempts", "last_attempt_at", "last_error"])
    return {"erased": erased, "pending": len(rows) - erased}
