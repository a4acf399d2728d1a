"""Admin for adapter versions. Promotion and rollback go through the API (one active per brand, audited);
here everything but the model card is read-only."""
from django.contrib import admin

from prefcontent.adapters.models import AdapterVersion


@admin.register(AdapterVersion)
class AdapterVersionAdmin(admin.ModelAdmin):
    list_display = ["id", "brand", "version", "status", "base_model_id", "size_bytes", "created_at", "promoted_at"]
    list_filter = ["status"]
    search_fields = ["brand__name", "artifact_key", "sha256"]
    readonly_fields = ["brand", "version", "status", "artifact_key", "sha256", "size_bytes", "base_model_id", "run",
                       "snapshot", "eval_report", "created_at", "promoted_at"]
    list_select_related = ["brand"]

    def has_add_permission(self, request) -> bool:
        return False
