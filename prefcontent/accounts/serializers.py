from __future__ import annotations

from rest_framework import serializers

from prefcontent.accounts.models import ApiKey, AuditLog, Membership, Organization
from prefcontent.core.fields import IdField
from prefcontent.tenancy.roles import ROLE_CHOICES, SCOPES


class OrganizationOut(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "created_at"]
        read_only_fields = fields


class OrganizationIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)


class MembershipOut(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "organization", "user", "username", "role", "created_at"]
        read_only_fields = fields


class MembershipCreateIn(serializers.Serializer):
    organization = IdField()
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=ROLE_CHOICES)


class MembershipUpdateIn(serializers.Serializer):
    role = serializers.ChoiceField(choices=ROLE_CHOICES)


class ApiKeyOut(serializers.ModelSerializer):
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "brand", "name", "prefix", "scopes", "created_at", "expires_at", "revoked_at",
                  "last_used_at", "is_active"]
        read_only_fields = fields


class ApiKeyCreatedOut(ApiKeyOut):
    key = serializers.CharField(read_only=True, help_text="The secret. Shown once; store it now.")

    class Meta(ApiKeyOut.Meta):
        fields = [*ApiKeyOut.Meta.fields, "key"]
        read_only_fields = fields


class ApiKeyCreateIn(serializers.Serializer):
    brand = IdField()
    name = serializers.CharField(max_length=120)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=SCOPES), min_length=1, max_length=10)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class TokenIn(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, style={"input_type": "password"})


class TokenOut(serializers.Serializer):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()


class MeOut(serializers.Serializer):
    kind = serializers.CharField()
    username = serializers.CharField(allow_null=True)
    roles = serializers.DictField(child=serializers.CharField())
    brand = IdField(allow_null=True)
    scopes = serializers.ListField(child=serializers.CharField())


class AuditLogOut(serializers.ModelSerializer):
    class Meta:
        model = AuditLog
        fields = ["id", "organization", "brand_id", "actor_user", "actor_api_key_prefix", "action", "target_type",
                  "target_id", "data", "request_id", "created_at"]
        read_only_fields = fields
