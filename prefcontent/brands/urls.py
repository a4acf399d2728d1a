from rest_framework.routers import SimpleRouter

from prefcontent.brands import api

router = SimpleRouter(trailing_slash="/?")
router.register("brands", api.BrandViewSet, basename="brand")

urlpatterns = router.urls
