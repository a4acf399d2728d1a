"""Mounted at /metrics by prefcontent/urls.py."""
from django.urls import path

from prefcontent.core.metrics_view import metrics

urlpatterns = [path("", metrics, name="metrics")]
