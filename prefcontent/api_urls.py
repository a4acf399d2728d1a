"""Every /api/v1/ route. Each app adds its urls module here."""
from django.urls import include, path

urlpatterns = [
    path("", include("prefcontent.accounts.urls")),
    path("", include("prefcontent.brands.urls")),
]
