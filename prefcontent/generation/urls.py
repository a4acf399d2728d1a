from django.urls import path
from rest_framework.routers import SimpleRouter

from prefcontent.generation import api

router = SimpleRouter(trailing_slash="/?")
router.register("generation-jobs", api.GenerationJobViewSet, basename="generation-job")

urlpatterns = [
    path("brands/<int:brand_id>/generate", api.GenerateView.as_view(), name="brand-generate"),
    path("brands/<int:brand_id>/score", api.ScoreView.as_view(), name="brand-score"),
    path("variants/<int:variant_id>/lineage", api.VariantLineageView.as_view(), name="variant-lineage"),
    *router.urls,
]
