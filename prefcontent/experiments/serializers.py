from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from prefcontent.core.fields import IdField
from prefcontent.experiments.allocation import MAX_ARM_WEIGHT
from prefcontent.experiments.ingestion import MAX_EVENTS_PER_BATCH
from prefcontent.experiments.lift_stats import ALERT_KINDS
from prefcontent.experiments.models import (
    ALLOCATION_CHOICES,
    EVENT_TYPE_CHOICES,
    METRIC_CHOICES,
    Arm,
    Decision,
    Experiment,
)


class ArmOut(serializers.ModelSerializer):
    class Meta:
        model = Arm
        fields = ["id", "variant", "is_control", "weight", "impressions", "clicks", "conversions"]
        read_only_fields = fields


class DecisionOut(serializers.ModelSerializer):
    class Meta:
        model = Decision
        fields = ["outcome", "winner_arm", "reason", "decided_by", "decided_at", "evidence"]
        read_only_fields = fields


class ExperimentOut(serializers.ModelSerializer):
    arms = ArmOut(many=True, read_only=True)
    decision = serializers.SerializerMethodField()
    # Plain strings in the schema: other apps also have "status"/"source" fields with other values.
    status = serializers.CharField(read_only=True, help_text="draft, running, paused, concluded or stopped.")
    source = serializers.CharField(read_only=True, help_text="live (events from the CMS) or imported.")
    primary_metric = serializers.CharField(read_only=True, help_text="click or conversion.")

    class Meta:
        model = Experiment
        fields = ["id", "brand", "campaign", "brief", "name", "status", "allocation", "primary_metric",
                  "min_sample_per_arm", "thompson_floor", "thompson_warmup", "source", "created_at", "started_at",
                  "ended_at", "weights_updated_at", "analyzed_at", "arms", "decision"]
        read_only_fields = fields

    @extend_schema_field(DecisionOut(allow_null=True))
    def get_decision(self, obj: Experiment) -> dict | None:
        try:
            return DecisionOut(obj.decision).data
        except Decision.DoesNotExist:
            return None


class ArmIn(serializers.Serializer):
    variant = IdField()
    is_control = serializers.BooleanField(default=False)
    weight = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=MAX_ARM_WEIGHT)


class ExperimentUpdateIn(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    allocation = serializers.ChoiceField(choices=ALLOCATION_CHOICES, required=False)
    # A plain string (validated by the service): as an enum it would duplicate content's GoalMetricEnum.
    primary_metric = serializers.CharField(max_length=12, required=False, help_text="click or conversion.")
    min_sample_per_arm = serializers.IntegerField(min_value=1, max_value=10**9, required=False)
    thompson_floor = serializers.FloatField(min_value=0, max_value=0.5, required=False)
    thompson_warmup = serializers.IntegerField(min_value=0, max_value=10**9, required=False)


class ExperimentCreateIn(ExperimentUpdateIn):
    brand = IdField()
    name = serializers.CharField(max_length=200)
    campaign = IdField(required=False, allow_null=True)
    brief = IdField(required=False, allow_null=True)
    arms = ArmIn(many=True)


class ArmWeightIn(serializers.Serializer):
    id = IdField()
    weight = serializers.FloatField(min_value=0, max_value=MAX_ARM_WEIGHT)


class WeightsIn(serializers.Serializer):
    arms = ArmWeightIn(many=True)


class EvaluationOut(serializers.Serializer):
    concluded = serializers.BooleanField(help_text="True when this call ended the experiment.")
    experiment = ExperimentOut()
    evidence = serializers.JSONField(help_text="Counts per arm and the stats engine's analysis.")


class AssignIn(serializers.Serializer):
    unit_id = serializers.CharField(max_length=200)


class AssignmentOut(serializers.Serializer):
    experiment = serializers.IntegerField()
    arm = serializers.IntegerField()
    variant = serializers.IntegerField()
    text = serializers.CharField()
    status = serializers.CharField(help_text="The experiment's status.")
    sticky = serializers.BooleanField(help_text="The unit's stored assignment (False: a fallback arm).")


class EventIn(serializers.Serializer):
    event_id = serializers.CharField(max_length=64, help_text="Client-made idempotency key, unique per brand.")
    experiment = serializers.IntegerField()
    arm = serializers.IntegerField(required=False, help_text="The arm, or give `variant`.")
    variant = serializers.IntegerField(required=False)
    type = serializers.ChoiceField(choices=EVENT_TYPE_CHOICES)
    unit_id = serializers.CharField(max_length=200, help_text="Stored only as a keyed hash.")
    timestamp = serializers.DateTimeField(help_text="ISO 8601 (or epoch seconds).")


class EventBatchIn(serializers.Serializer):
    events = EventIn(many=True, help_text=f"At most {MAX_EVENTS_PER_BATCH} events.")


class RejectedErrorOut(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class RejectedEventOut(serializers.Serializer):
    index = serializers.IntegerField()
    event_id = serializers.CharField(allow_null=True)
    error = RejectedErrorOut()


class EventBatchOut(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicates = serializers.ListField(child=serializers.CharField())
    rejected = RejectedEventOut(many=True)


class LiftEstimateOut(serializers.Serializer):
    lift = serializers.FloatField(allow_null=True, help_text="Rate per treated reader over rate per held-out reader, minus 1.")
    low = serializers.FloatField(allow_null=True, help_text="Lower end of the always-valid interval.")
    high = serializers.FloatField(allow_null=True)
    treated_rate = serializers.FloatField(allow_null=True)
    holdout_rate = serializers.FloatField(allow_null=True)
    treated_readers = serializers.IntegerField()
    holdout_readers = serializers.IntegerField()
    experiments = serializers.IntegerField(help_text="Experiments with readers in both groups.")
    std_error = serializers.FloatField(allow_null=True, help_text="Of log(1 + lift).")
    variance_from = serializers.ChoiceField(choices=["clusters", "readers"], allow_null=True)


class LiftWeekOut(LiftEstimateOut):
    week = serializers.CharField(help_text="The Monday (UTC) the week starts on.")


class LiftChannelOut(serializers.Serializer):
    channel = serializers.CharField()
    experiments = serializers.IntegerField()
    overall = LiftEstimateOut()
    weeks = LiftWeekOut(many=True)
    alerts = serializers.ListField(child=serializers.ChoiceField(choices=ALERT_KINDS))


class LiftAlertOut(serializers.Serializer):
    channel = serializers.CharField()
    kind = serializers.ChoiceField(choices=ALERT_KINDS)
    message = serializers.CharField()


class HoldoutCheckOut(serializers.Serializer):
    assigned = serializers.IntegerField()
    held_out = serializers.IntegerField()
    expected_share = serializers.FloatField()
    observed_share = serializers.FloatField(allow_null=True)
    srm_p_value = serializers.FloatField(allow_null=True)
    srm_flag = serializers.BooleanField()


class LiftReportOut(serializers.Serializer):
    brand = serializers.IntegerField()
    metric = serializers.ChoiceField(choices=METRIC_CHOICES)
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    holdout_share = serializers.FloatField()
    alpha = serializers.FloatField()
    interval = serializers.CharField()
    channels = LiftChannelOut(many=True)
    alerts = LiftAlertOut(many=True)
    holdout_check = HoldoutCheckOut()
    experiments_without_holdout_arm = serializers.IntegerField()
