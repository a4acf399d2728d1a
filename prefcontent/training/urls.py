from django.urls import include, path
from rest_framework.routers import SimpleRouter

from prefcontent.training import api

router = SimpleRouter(trailing_slash="/?")
router.register("training-runs", api.TrainingRunViewSet, basename="training-run")

urlpatterns = router.urls + [path("", include("prefcontent.training.policy_api"))]
