"""GET /metrics: the Prometheus exposition of this deployment.

Open when METRICS_TOKEN is empty; otherwise it needs `Authorization: Bearer <METRICS_TOKEN>`.
"""
from __future__ import annotations

import hmac
import os

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from prefcontent.core.metrics_collectors import (
    CeleryQueueLengthCollector,
    TrainingRunsCollector,
)


class ScrapeRegistry:
    """What one scrape reports: this process's (or every process's) metrics plus scrape-time collectors."""

    def __init__(self, sources: list) -> None:
        self.sources = sources

    def collect(self):
        for source in self.sources:
            yield from source.collect()


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def scrape_registry() -> ScrapeRegistry:
    mp_dir = multiprocess_dir()
    # In multiprocess mode the global registry only holds this process's values; the files hold all.
    process_metrics = MultiProcessCollector(None, path=mp_dir) if mp_dir else REGISTRY
    return ScrapeRegistry([process_metrics, TrainingRunsCollector(), CeleryQueueLengthCollector.from_celery_app()])


def metrics_token() -> str:
    return getattr(settings, "METRICS_TOKEN", None) or os.environ.get("METRICS_TOKEN", "")


def _authorized(request: HttpRequest, token: str) -> bool:
    if not token:
        return True
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _authorized(request, metrics_token()):
        response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)
