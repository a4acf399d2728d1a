"""Every /api/v1/ route. Each app adds its urls module here."""
from django.urls import include, path

from prefcontent.core import status

urlpatterns = [
    path("status", status.StatusView.as_view(), name="status"),
    path("", include("prefcontent.accounts.urls")),
    path("", include("prefcontent.brands.urls")),
    path("", include("prefcontent.content.urls")),
    path("", include("prefcontent.experiments.urls")),
    path("", include("prefcontent.preferences.urls")),
    path("", include("prefcontent.training.urls")),
    path("", include("prefcontent.adapters.urls")),
    path("", include("prefcontent.generation.urls")),
]
