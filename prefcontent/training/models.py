"""Training runs: one row per LoRA DPO job of a brand, the database being the source of truth.

State machine: queued -> running -> succeeded | failed | cancelled | rejected (the gate said
no). A worker owns a running row through its lease (owner + expiry, renewed by heartbeat);
the reaper puts a row whose lease expired back to queued, up to `max_attempts` claims.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class TrainingRun(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"
        REJECTED = "rejected"

    TERMINAL = (State.SUCCEEDED, State.FAILED, State.CANCELLED, State.REJECTED)

    brand = models.ForeignKey("brands.Brand", on_delete=models.CASCADE, related_name="training_runs")
    snapshot = models.ForeignKey("preferences.DatasetSnapshot", on_delete=models.RESTRICT, related_name="training_runs")
    base_model_id = models.CharField(max_length=500, help_text="Path of the base model the adapter is trained on.")
    parent_adapter = models.ForeignKey(
        "adapters.AdapterVersion", null=True, blank=True, on_delete=models.RESTRICT, related_name="child_runs",
        help_text="Continue training this adapter (it is also the DPO reference).",
    )
    hyperparameters = models.JSONField(default=dict, help_text="ml.config.TrainConfig fields.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED, db_index=True)
    lease_owner = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="Times a worker claimed this run.")
    max_attempts = models.PositiveIntegerField(default=3)
    step = models.PositiveIntegerField(default=0)
    total_steps = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=list, blank=True, help_text="One dict per optimizer step, for charts.")
    holdout = models.JSONField(default=dict, blank=True, help_text="Final holdout evaluation.")
    error = models.TextField(blank=True)
    checkpoint_key = models.CharField(max_length=500, blank=True, help_text="Latest checkpoint, under WORK_DIR.")
    cancel_requested = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    enqueued_at = models.DateTimeField(null=True, blank=True, help_text="Last time a task was sent for it.")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["brand", "created_at"]), models.Index(fields=["state", "lease_expires_at"])]

    def __str__(self) -> str:
        return f"run {self.pk} of brand {self.brand_id} ({self.state})"

    @property
    def is_terminal(self) -> bool:
        return self.state in self.TERMINAL


from prefcontent.training.policy_models import RetrainPolicy  # noqa: F401  (registers the model)
