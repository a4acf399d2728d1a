from django.urls import path
from rest_framework.routers import SimpleRouter

from prefcontent.preferences import api

router = SimpleRouter(trailing_slash="/?")
router.register("preference-pairs", api.PreferencePairViewSet, basename="preference-pair")
router.register("dataset-snapshots", api.DatasetSnapshotViewSet, basename="dataset-snapshot")

urlpatterns = [
    path("brands/<int:brand_id>/import", api.HistoryImportView.as_view(), name="history-import"),
    path("brands/<int:brand_id>/preference-report", api.PairReportView.as_view(), name="preference-report"),
    *router.urls,
]
