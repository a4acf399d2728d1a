"""Campaigns, briefs (the instruction a variant answers) and variants with provenance."""
from __future__ import annotations

from django.db import models
from django.utils import timezone

CHANNELS = ("headline", "email_subject", "ad_copy", "push", "landing")
GOAL_METRICS = ("click", "conversion")
SOURCES = ("human", "generated", "imported", "repair")  # repair: see prefcontent.brands.repair


def _choices(values: tuple[str, ...]) -> list[tuple[str, str]]:
    # Label = value, so the API schema sees the same enum here and in the input serializers.
    return [(v, v) for v in values]


CHANNEL_CHOICES = _choices(CHANNELS)
GOAL_METRIC_CHOICES = _choices(GOAL_METRICS)
SOURCE_CHOICES = _choices(SOURCES)


class Campaign(models.Model):
    brand = models.ForeignKey("brands.Brand", on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=200)
    channel = models.CharField(max_length=16, choices=CHANNEL_CHOICES)
    goal_metric = models.CharField(max_length=12, choices=GOAL_METRIC_CHOICES, default="click")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.name


class Brief(models.Model):
    brand = models.ForeignKey("brands.Brand", on_delete=models.CASCADE, related_name="briefs")
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="briefs")
    title = models.CharField(max_length=200)
    product = models.CharField(max_length=500, blank=True)
    audience = models.CharField(max_length=500, blank=True)
    tone = models.CharField(max_length=200, blank=True)
    locale = models.CharField(max_length=16, blank=True)
    constraints = models.TextField(blank=True)
    # The offer's facts (prefcontent.content.claims.facts): what copy for this brief may claim. {}: none.
    facts = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.title


class Variant(models.Model):
    brand = models.ForeignKey("brands.Brand", on_delete=models.CASCADE, related_name="variants")
    brief = models.ForeignKey(Brief, null=True, blank=True, on_delete=models.SET_NULL, related_name="variants")
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="variants")
    text = models.TextField()
    source = models.CharField(max_length=12, choices=SOURCE_CHOICES, default="human")
    # sha256 of the normalised text (see prefcontent.content.hashing); finds the same copy across briefs.
    content_hash = models.CharField(max_length=64, db_index=True)
    # Filled by generation: adapter version id or "base", model id, params, seed, engine.
    provenance = models.JSONField(default=dict, blank=True)
    adapter_version_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.text[:60]
