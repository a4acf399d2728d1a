"""REST API of the content app: campaigns, briefs and variants of the brands you may see."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.response import Response

from prefcontent.brands.selectors import brand_get
from prefcontent.content import selectors, services
from prefcontent.content.models import Brief, Campaign, Variant
from prefcontent.content.serializers import (
    BriefCreateIn,
    BriefOut,
    BriefUpdateIn,
    CampaignCreateIn,
    CampaignOut,
    CampaignUpdateIn,
    VariantCreateIn,
    VariantOut,
)
from prefcontent.core.fields import parse_id
from prefcontent.tenancy.roles import SCOPE_CONTENT_READ, SCOPE_CONTENT_WRITE
from prefcontent.tenancy.views import TenantViewSet

BRAND_FILTER = OpenApiParameter("brand", int, description="Only rows of this brand.")


class ContentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    api_key_read_scope = SCOPE_CONTENT_READ
    api_key_write_scope = SCOPE_CONTENT_WRITE

    def _optional(self, getter, key: str, value):
        return None if value is None else getter(principal=self.principal, **{key: value})


@extend_schema_view(list=extend_schema(parameters=[BRAND_FILTER]))
class CampaignViewSet(ContentViewSet):
    """Campaigns: a channel and the goal metric their experiments optimise."""

    queryset = Campaign.objects.all()
    serializer_class = CampaignOut

    @extend_schema(request=CampaignCreateIn, responses={201: CampaignOut})
    def create(self, request):
        data = CampaignCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        brand = brand_get(principal=self.principal, brand_id=data.validated_data["brand"])
        fields = {k: v for k, v in data.validated_data.items() if k != "brand"}
        campaign = services.campaign_create(principal=self.principal, brand=brand, **fields)
        return Response(CampaignOut(campaign).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CampaignUpdateIn, responses=CampaignOut)
    def partial_update(self, request, pk=None):
        campaign = self.get_object()
        data = CampaignUpdateIn(data=request.data)
        data.is_valid(raise_exception=True)
        campaign = services.campaign_update(principal=self.principal, campaign=campaign, **data.validated_data)
        return Response(CampaignOut(campaign).data)


@extend_schema_view(list=extend_schema(parameters=[BRAND_FILTER]))
class BriefViewSet(ContentViewSet):
    """Briefs: the instruction a variant answers (product, audience, tone, locale, constraints)."""

    queryset = Brief.objects.all()
    serializer_class = BriefOut

    @extend_schema(request=BriefCreateIn, responses={201: BriefOut})
    def create(self, request):
        data = BriefCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        brand = brand_get(principal=self.principal, brand_id=data.validated_data["brand"])
        fields = {k: v for k, v in data.validated_data.items() if k != "brand"}
        fields["campaign"] = self._optional(selectors.campaign_get, "campaign_id", fields.get("campaign"))
        brief = services.brief_create(principal=self.principal, brand=brand, **fields)
        return Response(BriefOut(brief).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=BriefUpdateIn, responses=BriefOut)
    def partial_update(self, request, pk=None):
        brief = self.get_object()
        data = BriefUpdateIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        if "campaign" in fields:
            fields["campaign"] = self._optional(selectors.campaign_get, "campaign_id", fields["campaign"])
        brief = services.brief_update(principal=self.principal, brief=brief, **fields)
        return Response(BriefOut(brief).data)


@extend_schema_view(list=extend_schema(parameters=[
    BRAND_FILTER,
    OpenApiParameter("brief", int, description="Only variants answering this brief."),
    OpenApiParameter("campaign", int, description="Only variants of this campaign."),
]))
class VariantViewSet(ContentViewSet):
    """Variants: immutable copy with its source and provenance."""

    queryset = Variant.objects.all()
    serializer_class = VariantOut

    def get_queryset(self):
        qs = super().get_queryset()
        if getattr(self, "action", None) == "list":
            for field in ("brief", "campaign"):
                value = self.request.query_params.get(field)
                if value is not None:
                    qs = qs.filter(**{field: parse_id(value)}) if parse_id(value) else qs.none()
        return qs

    @extend_schema(request=VariantCreateIn, responses={201: VariantOut})
    def create(self, request):
        data = VariantCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        brand = brand_get(principal=self.principal, brand_id=data.validated_data["brand"])
        fields = {k: v for k, v in data.validated_data.items() if k != "brand"}
        fields["brief"] = self._optional(selectors.brief_get, "brief_id", fields.get("brief"))
        fields["campaign"] = self._optional(selectors.campaign_get, "campaign_id", fields.get("campaign"))
        variant = services.variant_create(principal=self.principal, brand=brand, **fields)
        return Response(VariantOut(variant).data, status=status.HTTP_201_CREATED)
