"""What is still to erase of a deleted brand outside the database (store artifacts, work files, workers)."""
from __future__ import annotations

from django.db import models
from django.utils import timezone


class PendingErasure(models.Model):
    """One deleted brand whose files are not known to be gone yet; the sweep deletes the row when they are.

    No foreign key: the brand's rows are already deleted when this row is written (same transaction).
    """

    brand_id = models.BigIntegerField(unique=True)
    run_ids = models.JSONField(default=list, help_text="Training runs whose WORK_DIR/training/run-<id>/ to remove.")
    requested_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["requested_at"]

    def __str__(self) -> str:
        return f"pending erasure of brand {self.brand_id}"
