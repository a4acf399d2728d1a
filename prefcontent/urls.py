from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from prefcontent.core import health, not_found
from prefcontent.dashboard.views.base import page_not_found

handler400 = "prefcontent.core.errors.handler400"
handler403 = "prefcontent.core.errors.handler403"
handler500 = "prefcontent.core.errors.handler500"


def handler404(request, exception=None):
    """The dashboard's HTML page under /dashboard/, the JSON error shape everywhere else."""
    if request.path.startswith("/dashboard/"):
        return page_not_found(request, exception)
    return not_found.route_not_found(request, exception)


urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", include("prefcontent.core.metrics_urls")),
    path("api/v1/", include("prefcontent.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("admin/", admin.site.urls),
    path("dashboard/", include("prefcontent.dashboard.urls")),
    # Anything else is a JSON 404, also with DEBUG on; the dashboard and the admin keep their HTML pages.
    re_path(r"^(?!dashboard/|admin/|static/)", not_found.route_not_found, name=not_found.ROUTE_NAME),
]
