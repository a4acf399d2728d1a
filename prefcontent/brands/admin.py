"""Admin for brands and their compliance rules."""
from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from prefcontent.brands.models import Brand, ComplianceRule, PendingErasure
from prefcontent.brands.settings import brand_settings_clean
from prefcontent.core.errors import InvalidInput


class ComplianceRuleInline(admin.TabularInline):
    model = ComplianceRule
    extra = 0


class BrandForm(forms.ModelForm):
    class Meta:
        model = Brand
        fields = "__all__"

    def clean_settings(self):
        """The same validation as the API's and the dashboard's (prefcontent.brands.settings)."""
        try:
            return brand_settings_clean(self.cleaned_data["settings"])
        except InvalidInput as exc:
            raise ValidationError(exc.message) from exc


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    form = BrandForm
    list_display = ["id", "name", "slug", "organization", "locale", "created_at"]
    list_filter = ["locale", "organization"]
    search_fields = ["name", "slug", "organization__name"]
    list_select_related = ["organization"]
    inlines = [ComplianceRuleInline]


@admin.register(ComplianceRule)
class ComplianceRuleAdmin(admin.ModelAdmin):
    list_display = ["id", "brand", "kind", "pattern", "limit", "channel", "is_active", "created_at"]
    list_filter = ["kind", "is_active", "channel"]
    search_fields = ["pattern", "message", "brand__name"]
    list_select_related = ["brand"]


@admin.register(PendingErasure)
class PendingErasureAdmin(admin.ModelAdmin):
    """Read-only: operators watch erasures that keep failing (attempts, last_error); the sweep owns the rows."""

    list_display = ("brand_id", "requested_at", "attempts", "last_attempt_at", "last_error")
    search_fields = ("brand_id",)
    readonly_fields = ("brand_id", "run_ids", "requested_at", "attempts", "last_attempt_at", "last_error")

    def has_add_permission(self, request):
        return False
