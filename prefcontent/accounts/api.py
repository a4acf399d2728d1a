from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from prefcontent.accounts import selectors, services
from prefcontent.accounts.lockout import login_locked_for
from prefcontent.accounts.models import ApiKey, UserToken
from prefcontent.accounts.serializers import (
    ApiKeyCreatedOut,
    ApiKeyCreateIn,
    ApiKeyOut,
    AuditLogOut,
    MembershipCreateIn,
    MembershipOut,
    MembershipUpdateIn,
    MeOut,
    OrganizationIn,
    OrganizationOut,
    TokenIn,
    TokenOut,
)
from prefcontent.brands.selectors import brand_get
from prefcontent.core.errors import Forbidden, NotFound
from prefcontent.core.fields import parse_id
from prefcontent.tenancy.views import ANY_SCOPE, TenantAPIView, TenantViewSet


class UserOnlyMixin:
    """Endpoints for people only: API keys get 403 here."""

    api_key_read_scope = None
    api_key_write_scope = None


class OrganizationViewSet(UserOnlyMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    serializer_class = OrganizationOut

    def get_queryset(self):
        return selectors.organization_list(principal=self.principal)

    @extend_schema(request=OrganizationIn, responses={201: OrganizationOut})
    def create(self, request):
        data = OrganizationIn(data=request.data)
        data.is_valid(raise_exception=True)
        org = services.organization_create(principal=self.principal, name=data.validated_data["name"], user=request.user)
        return Response(OrganizationOut(org).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=OrganizationIn, responses=OrganizationOut)
    def partial_update(self, request, pk=None):
        org = self.get_object()
        data = OrganizationIn(data=request.data)
        data.is_valid(raise_exception=True)
        org = services.organization_update(principal=self.principal, organization=org, name=data.validated_data["name"])
        return Response(OrganizationOut(org).data)


class MembershipViewSet(UserOnlyMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    serializer_class = MembershipOut

    def get_queryset(self):
        return selectors.membership_list(principal=self.principal)

    @extend_schema(request=MembershipCreateIn, responses={201: MembershipOut})
    def create(self, request):
        data = MembershipCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        org = selectors.organization_list(principal=self.principal).filter(pk=data.validated_data["organization"]).first()
        if org is None:
            raise NotFound("Organization not found.")
        membership = services.membership_add(
            principal=self.principal, organization=org,
            username=data.validated_data["username"], role=data.validated_data["role"],
        )
        return Response(MembershipOut(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MembershipUpdateIn, responses=MembershipOut)
    def partial_update(self, request, pk=None):
        membership = self.get_object()
        data = MembershipUpdateIn(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.membership_change_role(
            principal=self.principal, membership=membership, role=data.validated_data["role"]
        )
        return Response(MembershipOut(membership).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        services.membership_remove(principal=self.principal, membership=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiKeyViewSet(UserOnlyMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """API keys of your brands. The secret is returned once, by create."""

    serializer_class = ApiKeyOut
    queryset = ApiKey.objects.all()

    def get_queryset(self):
        qs = selectors.api_key_list(principal=self.principal)
        brand = self.request.query_params.get("brand")
        if brand and self.action == "list":
            qs = qs.filter(brand_id=parse_id(brand)) if parse_id(brand) else qs.none()
        return qs

    @extend_schema(request=ApiKeyCreateIn, responses={201: ApiKeyCreatedOut})
    def create(self, request):
        data = ApiKeyCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        brand = brand_get(principal=self.principal, brand_id=data.validated_data["brand"])
        issued = services.api_key_create(
            principal=self.principal, brand=brand, name=data.validated_data["name"],
            scopes=data.validated_data["scopes"], expires_at=data.validated_data.get("expires_at"),
        )
        body = ApiKeyOut(issued.api_key).data
        body["key"] = issued.plaintext
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ApiKeyOut)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        key = services.api_key_revoke(principal=self.principal, api_key=self.get_object())
        return Response(ApiKeyOut(key).data)


class AuditLogViewSet(UserOnlyMixin, mixins.ListModelMixin, TenantViewSet):
    serializer_class = AuditLogOut

    def get_queryset(self):
        return selectors.audit_log_list(principal=self.principal)


class TokenView(TenantAPIView):
    """Exchange a username and password for a bearer token (for scripts)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(request=TokenIn, responses={201: TokenOut}, auth=[])
    def post(self, request):
        data = TokenIn(data=request.data)
        data.is_valid(raise_exception=True)
        locked = login_locked_for(data.validated_data["username"])
        if locked > 0:
            raise exceptions.Throttled(wait=locked, detail="Too many wrong passwords for this username; "
                                                           "try again later.")
        user = authenticate(request, username=data.validated_data["username"], password=data.validated_data["password"])
        if user is None:
            raise exceptions.AuthenticationFailed("Wrong username or password.")
        issued = services.user_token_create(user=user)
        return Response({"token": issued.plaintext, "expires_at": issued.token.expires_at}, status=201)


class TokenRevokeView(UserOnlyMixin, TenantAPIView):
    """Revoke the bearer token this request is made with."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        if not isinstance(request.auth, UserToken):
            raise Forbidden("Only a bearer token can revoke itself.", code="not_a_token")
        services.user_token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(TenantAPIView):
    """Who am I: a person with roles per organization, or an API key with its brand and scopes."""

    api_key_read_scope = ANY_SCOPE

    @extend_schema(responses=MeOut)
    def get(self, request):
        p = self.principal
        return Response({
            "kind": p.kind,
            "username": request.user.username if p.is_user else None,
            "roles": {str(k): v for k, v in p.roles.items()},
            "brand": p.api_key_brand_id,
            "scopes": sorted(p.scopes),
        })
