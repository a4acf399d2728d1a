from django.urls import path
from rest_framework.routers import SimpleRouter

from prefcontent.brands import api, compliance_api

router = SimpleRouter(trailing_slash="/?")
router.register("brands", api.BrandViewSet, basename="brand")
router.register("compliance-rules", compliance_api.ComplianceRuleViewSet, basename="compliance-rule")

urlpatterns = [
    path("brands/<int:brand_id>/compliance/check", compliance_api.ComplianceCheckView.as_view(),
         name="compliance-check"),
    *router.urls,
]
