"""Admin for experiments, arms, decisions; assignments, events, readers, hourly roll-ups and the assignment
roll's watermark are read-only records."""
from django.contrib import admin

from prefcontent.experiments.counters import READER_FIELDS
from prefcontent.experiments.models import (
    Arm,
    ArmHour,
    Assignment,
    AssignmentRoll,
    Decision,
    Event,
    Experiment,
    LiftCluster,
    Reader,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Facts recorded by the system: viewable, not editable."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ArmInline(admin.TabularInline):
    model = Arm
    extra = 0
    readonly_fields = ["impressions", "clicks", "conversions"]
    raw_id_fields = ["variant"]


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "brand", "status", "allocation", "primary_metric", "source", "started_at",
                    "ended_at"]
    list_filter = ["status", "allocation", "primary_metric", "source"]
    search_fields = ["name", "brand__name"]
    readonly_fields = ["last_analysis", "analyzed_at", "weights_updated_at"]
    raw_id_fields = ["campaign", "brief", "created_by"]
    list_select_related = ["brand"]
    inlines = [ArmInline]


@admin.register(Arm)
class ArmAdmin(admin.ModelAdmin):
    list_display = ["id", "experiment", "variant", "is_control", "weight", "impressions", "clicks", "conversions"]
    list_filter = ["is_control"]
    search_fields = ["experiment__name", "variant__text"]
    # Counters move with the rows they count (ingestion, the assignment roll), never by hand.
    readonly_fields = ["impressions", "clicks", "conversions", *READER_FIELDS, "assigned", "assigned_weighted",
                       "assigned_inverse_square", "assigned_held"]
    raw_id_fields = ["experiment", "variant"]


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ["id", "experiment", "outcome", "winner_arm", "decided_by", "decided_at"]
    list_filter = ["outcome", "decided_by"]
    search_fields = ["experiment__name", "reason"]


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = ["id", "experiment", "arm", "unit_hash", "created_at"]
    search_fields = ["unit_hash"]
    list_select_related = ["experiment", "arm"]


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["id", "event_id", "type", "brand", "experiment", "arm", "occurred_at", "received_at"]
    list_filter = ["type"]
    search_fields = ["event_id", "unit_hash"]
    date_hierarchy = "received_at"
    list_select_related = ["brand", "experiment", "arm"]


@admin.register(Reader)
class ReaderAdmin(ReadOnlyAdmin):
    list_display = ["id", "experiment", "arm", "unit_hash", "events", "impressions", "successes", "propensity",
                    "holdout", "first_seen_at"]
    list_filter = ["holdout"]
    raw_id_fields = ["experiment", "arm"]


@admin.register(ArmHour)
class ArmHourAdmin(ReadOnlyAdmin):
    list_display = ["id", "arm", "hour", "impressions", "clicks", "conversions"]
    raw_id_fields = ["arm"]


@admin.register(LiftCluster)
class LiftClusterAdmin(ReadOnlyAdmin):
    list_display = ["id", "experiment", "metric", "week", "holdout", "readers", "total"]
    raw_id_fields = ["experiment"]


@admin.register(AssignmentRoll)
class AssignmentRollAdmin(ReadOnlyAdmin):
    list_display = ["id", "last_id", "rolled_at"]
