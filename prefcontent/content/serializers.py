from __future__ import annotations

import json

from rest_framework import serializers

from prefcontent.content.models import (
    CHANNELS,
    GOAL_METRICS,
    SOURCES,
    Brief,
    Campaign,
    Variant,
)
from prefcontent.core.fields import IdField

MAX_PROVENANCE_KEYS = 50
MAX_PROVENANCE_BYTES = 16 * 1024


class CampaignOut(serializers.ModelSerializer):
    class Meta:
        model = Campaign
        fields = ["id", "brand", "name", "channel", "goal_metric", "created_at"]
        read_only_fields = fields


class CampaignCreateIn(serializers.Serializer):
    brand = IdField()
    name = serializers.CharField(max_length=200)
    channel = serializers.ChoiceField(choices=CHANNELS)
    goal_metric = serializers.ChoiceField(choices=GOAL_METRICS, default="click")


class CampaignUpdateIn(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    channel = serializers.ChoiceField(choices=CHANNELS, required=False)
    goal_metric = serializers.ChoiceField(choices=GOAL_METRICS, required=False)


class BriefOut(serializers.ModelSerializer):
    class Meta:
        model = Brief
        fields = ["id", "brand", "campaign", "title", "product", "audience", "tone", "locale", "constraints",
                  "facts", "created_at"]
        read_only_fields = fields


class BriefUpdateIn(serializers.Serializer):
    campaign = IdField(required=False, allow_null=True)
    title = serializers.CharField(max_length=200, required=False)
    product = serializers.CharField(max_length=500, required=False, allow_blank=True)
    audience = serializers.CharField(max_length=500, required=False, allow_blank=True)
    tone = serializers.CharField(max_length=200, required=False, allow_blank=True)
    locale = serializers.CharField(max_length=16, required=False, allow_blank=True)
    constraints = serializers.CharField(max_length=10_000, required=False, allow_blank=True)
    facts = serializers.JSONField(
        required=False, help_text='The offer\'s facts copy may claim: {"offer": {"discount_percent", "discount_amount", '
        '"price", "regular_price", "currency", "free_shipping", "free_shipping_over", "free_returns", "min_spend", '
        '"bundle"}, "validity": {"starts", "ends" (YYYY-MM-DD), "while_stocks_last"}, "allowed_claims": [text], '
        '"never_allowed": [claim kind]}; {} for none (then only the brand\'s rules judge the copy).')


class BriefCreateIn(BriefUpdateIn):
    brand = IdField()
    title = serializers.CharField(max_length=200)


class VariantOut(serializers.ModelSerializer):
    class Meta:
        model = Variant
        fields = ["id", "brand", "brief", "campaign", "text", "source", "content_hash", "provenance",
                  "adapter_version_id", "created_at"]
        read_only_fields = fields


class VariantCreateIn(serializers.Serializer):
    brand = IdField()
    brief = IdField(required=False, allow_null=True)
    campaign = IdField(required=False, allow_null=True)
    text = serializers.CharField(max_length=10_000, trim_whitespace=False)
    source = serializers.ChoiceField(choices=[s for s in SOURCES if s != "repair"], default="human")
    provenance = serializers.DictField(required=False, help_text=f"Free-form notes on where the text came from: "
                                       f"at most {MAX_PROVENANCE_KEYS} keys, {MAX_PROVENANCE_BYTES} bytes as JSON.")
    adapter_version_id = IdField(required=False, allow_null=True)

    def validate_provenance(self, value: dict) -> dict:
        if len(value) > MAX_PROVENANCE_KEYS or len(json.dumps(value)) > MAX_PROVENANCE_BYTES:
            raise serializers.ValidationError(f"At most {MAX_PROVENANCE_KEYS} keys and {MAX_PROVENANCE_BYTES} bytes.")
        return value
