from __future__ import annotations

from rest_framework import serializers

from prefcontent.brands.models import Brand


class BrandOut(serializers.ModelSerializer):
    class Meta:
        model = Brand
        fields = ["id", "organization", "name", "slug", "voice", "locale", "settings", "created_at"]
        read_only_fields = fields


class BrandCreateIn(serializers.Serializer):
    organization = serializers.IntegerField()
    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=80, required=False, allow_blank=True)
    voice = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    locale = serializers.CharField(required=False, max_length=16, default="en-US")
    settings = serializers.DictField(required=False)


class BrandUpdateIn(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    voice = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    locale = serializers.CharField(required=False, max_length=16)
    settings = serializers.DictField(required=False)
