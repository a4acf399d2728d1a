"""Brand compliance rules (imported by brands.models so Django registers the model)."""
from __future__ import annotations

from django.db import models
from django.utils import timezone

from prefcontent.brands.compliance import RULE_KINDS, RuleSpec


class ComplianceRule(models.Model):
    """One thing a brand's copy must (not) do: a banned phrase, a regex, a discount cap, a disclaimer, a length."""

    brand = models.ForeignKey("brands.Brand", on_delete=models.CASCADE, related_name="compliance_rules")
    kind = models.CharField(max_length=32, choices=[(k, k.replace("_", " ")) for k in RULE_KINDS])
    pattern = models.TextField(blank=True, help_text="Phrase, regular expression or disclaimer text.")
    limit = models.FloatField(null=True, blank=True, help_text="Percent for max_discount, characters for max_length.")
    channel = models.CharField(max_length=32, blank=True, help_text="Empty: every channel.")
    message = models.CharField(max_length=300, blank=True, help_text="Shown instead of the generated message.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "brands"
        ordering = ["id"]
        indexes = [models.Index(fields=["brand", "is_active"], name="compliance_brand_active")]

    def __str__(self) -> str:
        return f"{self.kind} {self.pattern or self.limit}"

    def spec(self) -> RuleSpec:
        return RuleSpec(kind=self.kind, pattern=self.pattern, limit=self.limit, channel=self.channel,
                        message=self.message, rule_id=self.pk)
