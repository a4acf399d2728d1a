"""Admin for campaigns, briefs and variants."""
from django.contrib import admin

from prefcontent.content.models import Brief, Campaign, Variant


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "brand", "channel", "goal_metric", "created_at"]
    list_filter = ["channel", "goal_metric"]
    search_fields = ["name", "brand__name"]
    list_select_related = ["brand"]


@admin.register(Brief)
class BriefAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "brand", "campaign", "product", "locale", "created_at"]
    list_filter = ["locale", "tone"]
    search_fields = ["title", "product", "audience", "brand__name"]
    list_select_related = ["brand", "campaign"]


@admin.register(Variant)
class VariantAdmin(admin.ModelAdmin):
    list_display = ["id", "text", "brand", "source", "adapter_version_id", "created_at"]
    list_filter = ["source"]
    search_fields = ["text", "content_hash", "brand__name"]
    readonly_fields = ["content_hash", "provenance", "adapter_version_id", "created_at"]
    list_select_related = ["brand"]
