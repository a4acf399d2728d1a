from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from prefcontent.core import health

handler400 = "prefcontent.core.errors.handler400"
handler403 = "prefcontent.core.errors.handler403"
handler404 = "prefcontent.core.errors.handler404"
handler500 = "prefcontent.core.errors.handler500"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", include("prefcontent.core.metrics_urls")),
    path("api/v1/", include("prefcontent.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("admin/", admin.site.urls),
    path("dashboard/", include("prefcontent.dashboard.urls")),
]
