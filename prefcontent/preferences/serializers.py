from __future__ import annotations

from rest_framework import serializers

from prefcontent.core.fields import IdField, Int32Field
from prefcontent.preferences.exports import EXPORT_KINDS
from prefcontent.preferences.models import SPLITS, DatasetSnapshot, PreferencePair


class PreferencePairOut(serializers.ModelSerializer):
    # Plain strings: choice enums named "status" collide across apps in the OpenAPI schema.
    status = serializers.CharField(read_only=True, help_text="active or excluded")

    class Meta:
        model = PreferencePair
        fields = ["id", "brand", "experiment", "chosen_variant", "rejected_variant", "prompt", "prompt_version",
                  "chosen", "rejected", "weight", "evidence", "status", "exclusion_reason", "exclusions",
                  "pair_hash", "created_at"]
        read_only_fields = fields


class PairBuildIn(serializers.Serializer):
    experiment = serializers.IntegerField()
    rebuild = serializers.BooleanField(required=False, default=False)


class BuildResultOut(serializers.Serializer):
    experiments = serializers.IntegerField()
    skipped = serializers.IntegerField()
    pairs = serializers.IntegerField()
    active = serializers.IntegerField()
    excluded = serializers.DictField(child=serializers.IntegerField())


class PairReportOut(serializers.Serializer):
    brand = serializers.IntegerField()
    active = serializers.IntegerField()
    excluded = serializers.IntegerField()
    excluded_by_reason = serializers.DictField(child=serializers.IntegerField())
    bias = serializers.DictField()


class DatasetSnapshotOut(serializers.ModelSerializer):
    class Meta:
        model = DatasetSnapshot
        fields = ["id", "brand", "name", "content_hash", "prompt_versions", "split_rule", "counts", "bias_report",
                  "source_experiment_ids", "created_by", "created_at"]
        read_only_fields = fields


class SnapshotCreateIn(serializers.Serializer):
    brand = IdField()
    name = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    holdout_fraction = serializers.FloatField(required=False, default=0.1, min_value=0.0, max_value=0.9)


class ExportQueryIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=EXPORT_KINDS, default="dpo")
    split = serializers.ChoiceField(choices=SPLITS, required=False)
    weights = serializers.BooleanField(required=False, default=False)


class ImportQueryIn(serializers.Serializer):
    file_format = serializers.ChoiceField(choices=["csv", "jsonl"], required=False)
    primary_metric = serializers.CharField(default="click", help_text="click or conversion")
    min_sample_per_arm = Int32Field(default=1000, min_value=1)


class ImportReportOut(serializers.Serializer):
    id = serializers.IntegerField()
    rows = serializers.IntegerField()
    tests = serializers.IntegerField()
    experiments = serializers.IntegerField()
    concluded = serializers.IntegerField()
    stopped_inconclusive = serializers.IntegerField()
    pairs = serializers.IntegerField()
    pairs_active = serializers.IntegerField()
    pairs_excluded_by_reason = serializers.DictField(child=serializers.IntegerField())
