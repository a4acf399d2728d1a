from rest_framework.routers import SimpleRouter

from prefcontent.adapters import api

router = SimpleRouter(trailing_slash="/?")
router.register("adapters", api.AdapterVersionViewSet, basename="adapter-version")

urlpatterns = router.urls
