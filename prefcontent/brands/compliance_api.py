"""REST endpoints for brand compliance rules and the checker."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from prefcontent.brands import compliance_services as services
from prefcontent.brands.compliance import RULE_KINDS, check_text, compliance_rules_for
from prefcontent.brands.compliance_models import ComplianceRule
from prefcontent.brands.selectors import brand_get
from prefcontent.core.fields import IdField
from prefcontent.tenancy.roles import SCOPE_CONTENT_READ
from prefcontent.tenancy.views import TenantAPIView, TenantViewSet


class ComplianceRuleOut(serializers.ModelSerializer):
    class Meta:
        model = ComplianceRule
        fields = ["id", "brand", "kind", "pattern", "limit", "channel", "message", "is_active", "created_at"]
        read_only_fields = fields


class ComplianceRuleCreateIn(serializers.Serializer):
    brand = IdField()
    kind = serializers.ChoiceField(choices=RULE_KINDS)
    pattern = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    limit = serializers.FloatField(required=False, allow_null=True, default=None)
    channel = serializers.CharField(required=False, allow_blank=True, default="", max_length=32)
    message = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)
    is_active = serializers.BooleanField(required=False, default=True)


class ComplianceRuleUpdateIn(serializers.Serializer):
    pattern = serializers.CharField(required=False, allow_blank=True, max_length=500)
    limit = serializers.FloatField(required=False, allow_null=True)
    channel = serializers.CharField(required=False, allow_blank=True, max_length=32)
    message = serializers.CharField(required=False, allow_blank=True, max_length=300)
    is_active = serializers.BooleanField(required=False)


class ComplianceCheckIn(serializers.Serializer):
    text = serializers.CharField(max_length=20_000, trim_whitespace=False)
    channel = serializers.CharField(required=False, allow_blank=True, default="", max_length=32)


class ViolationOut(serializers.Serializer):
    rule = serializers.CharField()
    message = serializers.CharField()
    rule_id = serializers.IntegerField(allow_null=True)
    match = serializers.CharField()


class ComplianceResultOut(serializers.Serializer):
    ok = serializers.BooleanField()
    violations = ViolationOut(many=True)


class ComplianceRuleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """A brand's compliance rules (`?brand=` filters the list)."""

    queryset = ComplianceRule.objects.select_related("brand")
    serializer_class = ComplianceRuleOut
    api_key_read_scope = SCOPE_CONTENT_READ

    @extend_schema(request=ComplianceRuleCreateIn, responses={201: ComplianceRuleOut})
    def create(self, request):
        data = ComplianceRuleCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        brand = brand_get(principal=self.principal, brand_id=data.validated_data["brand"])
        data.validated_data.pop("brand")
        rule = services.compliance_rule_create(principal=self.principal, brand=brand, **data.validated_data)
        return Response(ComplianceRuleOut(rule).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ComplianceRuleUpdateIn, responses=ComplianceRuleOut)
    def partial_update(self, request, pk=None):
        rule = self.get_object()
        data = ComplianceRuleUpdateIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        rule = services.compliance_rule_update(principal=self.principal, rule=rule, **data.validated_data)
        return Response(ComplianceRuleOut(rule).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        services.compliance_rule_delete(principal=self.principal, rule=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class ComplianceCheckView(TenantAPIView):
    """Check a text against the brand's active rules (read-only; viewers may call it)."""

    api_key_read_scope = SCOPE_CONTENT_READ
    api_key_write_scope = SCOPE_CONTENT_READ

    @extend_schema(request=ComplianceCheckIn, responses=ComplianceResultOut)
    def post(self, request, brand_id: int):
        brand = brand_get(principal=self.principal, brand_id=brand_id)
        data = ComplianceCheckIn(data=request.data)
        data.is_valid(raise_exception=True)
        result = check_text(compliance_rules_for(brand), data.validated_data["text"], data.validated_data["channel"])
        return Response(result.to_dict())
