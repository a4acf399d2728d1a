from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from prefcontent.experiments import api, api_cms

router = SimpleRouter(trailing_slash="/?")
router.register("experiments", api.ExperimentViewSet, basename="experiment")

urlpatterns = [
    re_path(r"^experiments/(?P<pk>[0-9]+)/assign/?$", api_cms.AssignView.as_view(), name="experiment-assign"),
    re_path(r"^events/?$", api_cms.EventsView.as_view(), name="event-ingest"),
    path("snippet.js", api_cms.snippet, name="experiments-snippet"),
    path("brands/<int:brand_id>/visitors/erase", api_cms.VisitorEraseView.as_view(), name="brand-visitor-erase"),
    path("brands/<int:brand_id>/lift", api.BrandLiftView.as_view(), name="brand-lift"),
    *router.urls,
]
