from django.urls import path
from rest_framework.routers import SimpleRouter

from prefcontent.accounts import api

router = SimpleRouter(trailing_slash="/?")
router.register("organizations", api.OrganizationViewSet, basename="organization")
router.register("members", api.MembershipViewSet, basename="membership")
router.register("api-keys", api.ApiKeyViewSet, basename="api-key")
router.register("audit-log", api.AuditLogViewSet, basename="audit-log")

urlpatterns = [
    path("auth/token", api.TokenView.as_view(), name="auth-token"),
    path("auth/token/revoke", api.TokenRevokeView.as_view(), name="auth-token-revoke"),
    path("me", api.MeView.as_view(), name="me"),
    *router.urls,
]
