"""Output shapes of the adapters API."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from prefcontent.adapters.models import AdapterVersion


class AdapterVersionListOut(serializers.ModelSerializer):
    passed_gate = serializers.SerializerMethodField()

    class Meta:
        model = AdapterVersion
        fields = ["id", "brand", "version", "status", "base_model_id", "base_model_name", "base_model_sha256", "run",
                  "snapshot", "passed_gate", "sha256", "created_at", "promoted_at"]

    @extend_schema_field(serializers.BooleanField(allow_null=True))
    def get_passed_gate(self, adapter: AdapterVersion) -> bool | None:
        return adapter.eval_report.get("passed") if adapter.eval_report else None


class AdapterVersionOut(AdapterVersionListOut):
    class Meta(AdapterVersionListOut.Meta):
        fields = AdapterVersionListOut.Meta.fields + ["artifact_key", "size_bytes", "eval_report", "model_card"]
