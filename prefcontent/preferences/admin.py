"""Admin for preference pairs (status editable: exclude a bad pair), snapshots and history imports.

Snapshots are frozen datasets: read-only here.
"""
from django.contrib import admin

from prefcontent.preferences.models import (
    DatasetSnapshot,
    HistoryImport,
    ImportedTest,
    PreferencePair,
    SnapshotPair,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PreferencePair)
class PreferencePairAdmin(admin.ModelAdmin):
    list_display = ["id", "brand", "experiment", "status", "exclusion_reason", "weight", "prompt_version",
                    "created_at"]
    list_filter = ["status", "exclusion_reason", "prompt_version"]
    search_fields = ["chosen", "rejected", "prompt", "pair_hash"]
    readonly_fields = ["brand", "experiment", "chosen_variant", "rejected_variant", "prompt", "prompt_version",
                       "chosen", "rejected", "weight", "evidence", "exclusions", "exclusion_codes", "pair_hash",
                       "pair_key", "created_at"]
    list_select_related = ["brand", "experiment"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(DatasetSnapshot)
class DatasetSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["id", "name", "brand", "content_hash", "counts", "created_at"]
    search_fields = ["name", "content_hash", "brand__name"]
    list_select_related = ["brand"]


@admin.register(SnapshotPair)
class SnapshotPairAdmin(ReadOnlyAdmin):
    list_display = ["id", "snapshot", "split", "chosen", "rejected", "weight"]
    list_filter = ["split"]
    search_fields = ["chosen", "rejected", "pair_hash"]


@admin.register(HistoryImport)
class HistoryImportAdmin(ReadOnlyAdmin):
    list_display = ["id", "filename", "brand", "rows", "tests", "created_by", "created_at"]
    search_fields = ["filename", "brand__name"]
    list_select_related = ["brand", "created_by"]


@admin.register(ImportedTest)
class ImportedTestAdmin(ReadOnlyAdmin):
    list_display = ["id", "test_id", "brand", "history_import", "experiment"]
    search_fields = ["test_id"]
    list_select_related = ["brand", "history_import", "experiment"]
