"""Brands: the tenant unit that owns content, experiments, data and adapters."""
from __future__ import annotations

from django.db import models
from django.utils import timezone


class Brand(models.Model):
    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="brands")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80)
    voice = models.TextField(blank=True, help_text="Brand voice and guidelines, used in every prompt.")
    locale = models.CharField(max_length=16, default="en-US")
    # Only the keys the brand set; read through prefcontent.brands.settings.brand_settings (types, defaults).
    settings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "slug"], name="uniq_brand_slug_per_org")]
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


from prefcontent.brands.compliance_models import ComplianceRule  # noqa: E402,F401  (registers the model)
from prefcontent.brands.erasure_models import PendingErasure  # noqa: E402,F401  (registers the model)
