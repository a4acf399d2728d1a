"""Retrain policies: when a brand retrains by itself (imported by training.models so Django registers it).

A policy fires on its cron schedule (a django-celery-beat PeriodicTask that marks it due) or
when enough new usable pairs arrived since the brand's last run; `policies.retrain_policies_evaluate`
then decides, under the global concurrency limit and by priority, which due policies start a run.
"""
from __future__ import annotations

from django.db import models
from django.utils import timezone


class RetrainPolicy(models.Model):
    brand = models.OneToOneField("brands.Brand", on_delete=models.CASCADE, related_name="retrain_policy")
    enabled = models.BooleanField(default=True)
    cron = models.CharField(max_length=120, blank=True,
                            help_text='Five-field cron expression ("minute hour day month weekday", UTC); empty: none.')
    threshold_pairs = models.PositiveIntegerField(
        null=True, blank=True, help_text="Retrain once this many new usable pairs arrived since the last run.")
    min_interval_minutes = models.PositiveIntegerField(default=60, help_text="Minimum time between two runs.")
    auto_promote = models.BooleanField(default=True, help_text="Promote a candidate that passes the gate.")
    hyperparameters = models.JSONField(default=dict, blank=True, help_text="TrainConfig overrides for its runs.")
    priority = models.IntegerField(default=0, help_text="Higher starts first when GPU slots are scarce.")
    periodic_task = models.OneToOneField("django_celery_beat.PeriodicTask", null=True, blank=True,
                                         on_delete=models.SET_NULL, related_name="+")
    cron_due_at = models.DateTimeField(null=True, blank=True, help_text="The cron fired; cleared when a run starts.")
    last_run = models.ForeignKey("training.TrainingRun", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    last_evaluated_at = models.DateTimeField(null=True, blank=True)
    last_outcome = models.CharField(max_length=200, blank=True, help_text="Why the last evaluation did what it did.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "training"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"retrain policy of brand {self.brand_id}"

    @property
    def periodic_task_name(self) -> str:
        return f"retrain-policy-{self.brand_id}"
