"""Admin for brands and their compliance rules."""
from django.contrib import admin

from prefcontent.brands.models import Brand, ComplianceRule


class ComplianceRuleInline(admin.TabularInline):
    model = ComplianceRule
    extra = 0


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
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
