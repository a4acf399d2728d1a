from rest_framework.routers import SimpleRouter

from prefcontent.content import api

router = SimpleRouter(trailing_slash="/?")
router.register("campaigns", api.CampaignViewSet, basename="campaign")
router.register("briefs", api.BriefViewSet, basename="brief")
router.register("variants", api.VariantViewSet, basename="variant")

urlpatterns = router.urls
