"""Admin for generation jobs, their candidates and the generate shards: records of the system, read-only."""
from django.contrib import admin

from prefcontent.generation.models import (
    GeneratedCandidate,
    GenerationJob,
    GenerationShard,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(GenerationJob)
class GenerationJobAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "state", "brand", "channel", "adapter_version", "engine", "shard", "worker",
                    "error_code", "created_at", "finished_at"]
    list_filter = ["state", "kind", "channel", "engine", "error_code"]
    search_fields = ["brand__name", "worker", "error_message"]
    date_hierarchy = "created_at"
    list_select_related = ["brand", "adapter_version"]


@admin.register(GeneratedCandidate)
class GeneratedCandidateAdmin(ReadOnlyAdmin):
    list_display = ["id", "job", "index", "status", "rank", "score", "text"]
    list_filter = ["status"]
    search_fields = ["text"]


@admin.register(GenerationShard)
class GenerationShardAdmin(ReadOnlyAdmin):
    list_display = ["shard", "worker", "last_seen_at"]
