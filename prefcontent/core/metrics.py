"""Every Prometheus metric the project records, defined once so that apps only import them.

Usage from a service or task (never create metrics elsewhere, so names stay consistent):

    from prefcontent.core import metrics
    metrics.EVENTS_INGESTED.labels(brand=str(brand.id)).inc(len(events))
    with metrics.TRAINING_STEP_SECONDS.time(): ...

Multi-process mode: when PROMETHEUS_MULTIPROC_DIR is set before this module is imported
(gunicorn workers, Celery prefork children), prometheus_client writes each process's values
to files there and the scrape (prefcontent.core.metrics_view or
prefcontent.core.metrics_exporter) sums them. Values computed at scrape time (training runs
by state, queue lengths) are custom collectors in prefcontent.core.metrics_collectors.
"""
from __future__ import annotations

from prometheus_client import Counter, Histogram

NAMESPACE = "prefcontent"

# Seconds; covers fast API calls up to slow imports.
_HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# One optimizer step: milliseconds for the tiny test model, up to a minute for a large base model.
_STEP_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
# One generation request (all candidates), CPU dev model to a large model on a GPU.
_GENERATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

# -- HTTP (recorded by prefcontent.core.metrics_middleware.PrometheusMiddleware) -----------------
HTTP_REQUESTS = Counter(
    "http_requests",
    "HTTP requests answered, by method, route (URL name or pattern, never the raw path) and status.",
    ["method", "route", "status"],
    namespace=NAMESPACE,
)
HTTP_REQUEST_DURATION_SECONDS = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route.",
    ["method", "route"],
    namespace=NAMESPACE,
    buckets=_HTTP_BUCKETS,
)

# -- Domain counters (incremented by the apps) --------------------------------------------------
EVENTS_INGESTED = Counter(
    "events_ingested",
    "Experiment events accepted, by brand id.",
    ["brand"],
    namespace=NAMESPACE,
)
EVENTS_REJECTED = Counter(
    "events_rejected",
    "Experiment events refused, by a short machine-readable reason (e.g. duplicate, unknown_arm).",
    ["reason"],
    namespace=NAMESPACE,
)
ASSIGNMENTS = Counter(
    "assignments",
    "Visitor-to-arm assignments made.",
    namespace=NAMESPACE,
)
TRAINING_STEP_SECONDS = Histogram(
    "training_step_seconds",
    "Wall time of one DPO optimizer step in a training run.",
    namespace=NAMESPACE,
    buckets=_STEP_BUCKETS,
)
GENERATION_LATENCY_SECONDS = Histogram(
    "generation_latency_seconds",
    "Wall time of one generation request, from engine call to returned candidates.",
    namespace=NAMESPACE,
    buckets=_GENERATION_BUCKETS,
)
