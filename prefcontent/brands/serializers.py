from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from prefcontent.brands.models import Brand
from prefcontent.brands.settings import brand_settings_schema
from prefcontent.core.fields import IdField


@extend_schema_field(brand_settings_schema())
class BrandSettingsField(serializers.DictField):
    """The brand's settings object; the brand services validate each key (prefcontent.brands.settings)."""


class BrandOut(serializers.ModelSerializer):
    settings = BrandSettingsField(read_only=True, help_text="The keys the brand set; the rest take their defaults.")

    class Meta:
        model = Brand
        fields = ["id", "organization", "name", "slug", "voice", "locale", "settings", "created_at"]
        read_only_fields = fields


class BrandCreateIn(serializers.Serializer):
    organization = IdField()
    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=80, required=False, allow_blank=True)
    voice = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    locale = serializers.CharField(required=False, max_length=16, default="en-US")
    settings = BrandSettingsField(required=False)


class BrandUpdateIn(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    voice = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    locale = serializers.CharField(required=False, max_length=16)
    settings = BrandSettingsField(required=False, help_text="Replaces the whole settings object.")
