"""Input and output shapes of the training API."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from prefcontent.core.fields import IdField
from prefcontent.training.hyperparameters import HyperparametersField
from prefcontent.training.models import TrainingRun


class TrainingRunCreateIn(serializers.Serializer):
    brand = IdField()
    snapshot = IdField()
    parent_adapter = IdField(required=False, allow_null=True,
                                              help_text="Adapter version to continue training.")
    hyperparameters = HyperparametersField(required=False, default=dict,
                                            help_text="TrainConfig fields, e.g. {\"max_steps\": 200, \"beta\": 0.1}.")


class TrainingRunListOut(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()
    adapter_version = serializers.SerializerMethodField()

    class Meta:
        model = TrainingRun
        fields = ["id", "brand", "snapshot", "base_model_id", "parent_adapter", "state", "attempts", "max_attempts",
                  "step", "total_steps", "progress", "error", "cancel_requested", "adapter_version", "created_at",
                  "started_at", "finished_at"]

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_progress(self, run: TrainingRun) -> float | None:
        return round(run.step / run.total_steps, 4) if run.total_steps else None

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_adapter_version(self, run: TrainingRun) -> int | None:
        adapter = getattr(run, "adapter_version", None)
        return adapter.pk if adapter is not None else None


class TrainingRunOut(TrainingRunListOut):
    metrics = serializers.ListField(child=serializers.DictField(), help_text="One dict per optimizer step.")

    class Meta(TrainingRunListOut.Meta):
        fields = TrainingRunListOut.Meta.fields + ["hyperparameters", "metrics", "holdout", "checkpoint_key",
                                                   "lease_owner", "lease_expires_at", "created_by", "updated_at"]
