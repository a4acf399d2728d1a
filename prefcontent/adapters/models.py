"""Adapter versions: a brand's published LoRA adapters, their eval reports and status.

At most one version per brand is active; the database enforces it with a partial unique
constraint, so two concurrent promotions cannot both win.
"""
from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class AdapterVersion(models.Model):
    class Status(models.TextChoices):
        CANDIDATE = "candidate"
        ACTIVE = "active"
        RETIRED = "retired"
        REJECTED = "rejected"

    brand = models.ForeignKey("brands.Brand", on_delete=models.CASCADE, related_name="adapter_versions")
    version = models.PositiveIntegerField(help_text="1, 2, 3, ... per brand.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CANDIDATE, db_index=True)
    artifact_key = models.CharField(max_length=500, help_text="Key in the models store.")
    sha256 = models.CharField(max_length=64, help_text="Directory checksum recorded after the publish returned.")
    size_bytes = models.BigIntegerField(default=0)
    base_model_id = models.CharField(max_length=500)
    # The identity of the base the adapter was trained on; blank on versions published before it was recorded.
    base_model_name = models.CharField(max_length=200, blank=True)
    base_model_sha256 = models.CharField(max_length=64, blank=True, help_text="Checksum of the base model directory.")
    run = models.OneToOneField("training.TrainingRun", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="adapter_version")
    snapshot = models.ForeignKey("preferences.DatasetSnapshot", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="adapter_versions")
    eval_report = models.JSONField(default=dict, blank=True)
    model_card = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    promoted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["brand_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["brand", "version"], name="uniq_adapter_version_per_brand"),
            models.UniqueConstraint(fields=["brand"], condition=Q(status="active"), name="one_active_adapter_per_brand"),
        ]

    def __str__(self) -> str:
        return f"brand {self.brand_id} adapter v{self.version} ({self.status})"
