"""Admin for training runs (read-only records; cancel, retry and requeue go through the API) and retrain
policies, whose saves go through the same validation and beat-schedule sync as the API's."""
from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from prefcontent.core.errors import DomainError
from prefcontent.training import policies
from prefcontent.training.cron import normalise_cron
from prefcontent.training.models import RetrainPolicy, TrainingRun


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ["id", "brand", "state", "step", "total_steps", "attempts", "lease_owner", "lease_expires_at",
                    "created_at", "finished_at"]
    list_filter = ["state", "cancel_requested"]
    search_fields = ["brand__name", "lease_owner", "error"]
    date_hierarchy = "created_at"
    list_select_related = ["brand"]
    exclude = ["metrics"]  # one dict per step: too long for a form; the API and dashboard chart it

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class RetrainPolicyForm(forms.ModelForm):
    class Meta:
        model = RetrainPolicy
        fields = ["brand", *policies.EDITABLE]

    def clean(self):
        data = super().clean()
        try:
            policies.retrain_policy_validate({k: data.get(k) for k in policies.EDITABLE if k in data})
        except DomainError as exc:
            raise ValidationError(exc.message) from exc
        return data


@admin.register(RetrainPolicy)
class RetrainPolicyAdmin(admin.ModelAdmin):
    form = RetrainPolicyForm
    list_display = ["id", "brand", "enabled", "cron", "threshold_pairs", "min_interval_minutes", "auto_promote",
                    "priority", "last_run", "last_evaluated_at", "last_outcome"]
    list_filter = ["enabled", "auto_promote"]
    search_fields = ["brand__name", "cron"]
    readonly_fields = ["periodic_task", "cron_due_at", "last_run", "last_evaluated_at", "last_outcome",
                       "created_at", "updated_at"]
    list_select_related = ["brand", "last_run"]

    def save_model(self, request, obj, form, change) -> None:
        obj.cron = normalise_cron(obj.cron)
        super().save_model(request, obj, form, change)
        policies.retrain_policy_sync(policy=obj)  # the admin's changeform view is one transaction

    def delete_model(self, request, obj) -> None:
        policies.retrain_policy_delete_schedule(policy=obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        for policy in queryset:
            policies.retrain_policy_delete_schedule(policy=policy)
        super().delete_queryset(request, queryset)
