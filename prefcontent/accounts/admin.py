"""Admin for organizations, members, credentials and the audit log. Secret hashes are never shown."""
from django.contrib import admin

from prefcontent.accounts.models import (
    ApiKey,
    AuditLog,
    Membership,
    Organization,
    UserToken,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "organization", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__email", "organization__name"]
    list_select_related = ["user", "organization"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are issued through the API (the plaintext is shown once); here they can be inspected or revoked."""

    list_display = ["id", "name", "prefix", "brand", "created_at", "expires_at", "revoked_at", "last_used_at"]
    list_filter = ["revoked_at", "created_at"]
    search_fields = ["name", "prefix", "brand__name"]
    exclude = ["secret_hash"]
    readonly_fields = ["prefix", "brand", "created_by", "created_at", "last_used_at"]
    list_select_related = ["brand"]

    def has_add_permission(self, request) -> bool:
        return False  # a key made here would have no plaintext anyone could use


@admin.register(UserToken)
class UserTokenAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "prefix", "user", "created_at", "expires_at", "revoked_at", "last_used_at"]
    list_filter = ["revoked_at", "created_at"]
    search_fields = ["name", "prefix", "user__username"]
    exclude = ["secret_hash"]
    readonly_fields = ["prefix", "user", "created_at", "last_used_at"]
    list_select_related = ["user"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    """Append-only: viewable, never edited or deleted here."""

    list_display = ["created_at", "action", "organization", "brand_id", "actor_user", "actor_api_key_prefix",
                    "target_type", "target_id", "request_id"]
    list_filter = ["action", "target_type"]
    search_fields = ["action", "target_id", "actor_api_key_prefix", "request_id", "actor_user__username"]
    date_hierarchy = "created_at"
    list_select_related = ["organization", "actor_user"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
