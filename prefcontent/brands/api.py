from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.response import Response

from prefcontent.brands import selectors, services
from prefcontent.brands.models import Brand
from prefcontent.brands.serializers import BrandCreateIn, BrandOut, BrandUpdateIn
from prefcontent.core.errors import NotFound
from prefcontent.tenancy.roles import SCOPE_CONTENT_READ
from prefcontent.tenancy.views import TenantViewSet


class BrandViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Brands of the organizations you belong to (an API key sees its own brand)."""

    queryset = Brand.objects.all()
    serializer_class = BrandOut
    brand_field = "pk"
    api_key_read_scope = SCOPE_CONTENT_READ

    def get_queryset(self):
        return selectors.brand_list(principal=self.principal)

    @extend_schema(request=BrandCreateIn, responses={201: BrandOut})
    def create(self, request):
        data = BrandCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        org_id = data.validated_data.pop("organization")
        from prefcontent.accounts.selectors import organization_list

        organization = organization_list(principal=self.principal).filter(pk=org_id).first()
        if organization is None:
            raise NotFound("Organization not found.")
        brand = services.brand_create(principal=self.principal, organization=organization, **data.validated_data)
        return Response(BrandOut(brand).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=BrandUpdateIn, responses=BrandOut)
    def partial_update(self, request, pk=None):
        brand = self.get_object()
        data = BrandUpdateIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        brand = services.brand_update(principal=self.principal, brand=brand, **data.validated_data)
        return Response(BrandOut(brand).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        services.brand_delete(principal=self.principal, brand=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
