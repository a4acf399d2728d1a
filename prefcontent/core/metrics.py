"""Every Prometheus metric the project records, defined once so that apps only import them.

Usage from a service or task (never create metrics elsewhere, so names stay consistent):

    from prefcontent.core import metrics
    metrics.EVENTS_INGESTED.labels(brand=str(brand.id)).inc(len(events))
    with metrics.GENERATION_LATENCY_SECONDS.labels(kind="generate").time(): ...

Multi-process mode: when PROMETHEUS_MULTIPROC_DIR is set before this module is imported
(gunicorn workers, Celery prefork children), prometheus_client writes each process's values
to files there and the scrape (prefcontent.core.metrics_view or
prefcontent.core.metrics_exporter) sums them. Values computed at scrape time (training runs
by state, queue lengths) are custom collectors in prefcontent.core.metrics_collectors.
"""
from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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

# Whole runs and jobs: seconds for a tiny model up to hours for a long training run.
_RUN_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0)
# Time a job waited on its queue before a worker took it.
_QUEUE_WAIT_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 14400.0)

# -- Domain metrics (recorded where the work happens; a test reads them through real traffic) -------
# Brand labels are brand ids ("unknown" when an event names no visible experiment).
EVENTS_INGESTED = Counter(
    "events_ingested",
    "Experiment events accepted and counted, by brand id (prefcontent.experiments.ingestion).",
    ["brand"],
    namespace=NAMESPACE,
)
EVENTS_REJECTED = Counter(
    "events_rejected",
    "Experiment events not counted, by brand id and a machine-readable reason (duplicate, unknown_arm, ...).",
    ["brand", "reason"],
    namespace=NAMESPACE,
)
ASSIGNMENTS = Counter(
    "assignments",
    "Visitor-to-arm assignments answered, by brand id and the experiment's status "
    "(running ones are stored and sticky).",
    ["brand", "status"],
    namespace=NAMESPACE,
)
DECISIONS = Counter(
    "decisions",
    "Experiments ended, by brand id and outcome (winner, inconclusive) (prefcontent.experiments.decisions).",
    ["brand", "outcome"],
    namespace=NAMESPACE,
)
PAIRS_BUILT = Counter(
    "pairs_built",
    "Preference pairs written by a build, by brand id and status (active, excluded).",
    ["brand", "status"],
    namespace=NAMESPACE,
)
PAIRS_EXCLUDED = Counter(
    "pairs_excluded",
    "Preference pairs built excluded from training, by brand id and primary reason.",
    ["brand", "reason"],
    namespace=NAMESPACE,
)
GATE_CHECKS = Counter(
    "gate_checks",
    "Promotion-gate checks evaluated on a trained candidate, by brand id, check name and result (passed, failed).",
    ["brand", "check", "result"],
    namespace=NAMESPACE,
)
ADAPTERS_PROMOTED = Counter(
    "adapters_promoted",
    "Adapter versions made active, by brand id and how (auto, manual, rollback).",
    ["brand", "how"],
    namespace=NAMESPACE,
)
LIFT_ALERT = Gauge(
    "lift_alert",
    "1 while a brand's lift report raises an alert on a channel, by brand id, channel and kind (below_zero: the "
    "interval reached below zero for the set number of weeks; decay: the lift fell from its peak), else 0. "
    "Set whenever the report is computed (prefcontent.experiments.lift).",
    ["brand", "channel", "kind"],
    namespace=NAMESPACE,
    multiprocess_mode="mostrecent",
)
TRAINING_STEP_SECONDS = Histogram(
    "training_step_seconds",
    "Wall time of one DPO optimizer step in a training run (from the loop's progress).",
    namespace=NAMESPACE,
    buckets=_STEP_BUCKETS,
)
GENERATION_LATENCY_SECONDS = Histogram(
    "generation_latency_seconds",
    "Wall time of one engine call of a generation job (generate or score), from call to returned candidates.",
    ["kind"],
    namespace=NAMESPACE,
    buckets=_GENERATION_BUCKETS,
)
DECODE_BATCH_ROWS = Histogram(
    "decode_batch_rows",
    "Sequences decoded together in one step of a generate worker's engine (all brands and adapters).",
    namespace=NAMESPACE,
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
RUN_DURATION_SECONDS = Histogram(
    "run_duration_seconds",
    "Wall time of one attempt of a worker job, from claim to end, by kind (training, generate, score) and outcome.",
    ["kind", "outcome"],
    namespace=NAMESPACE,
    buckets=_RUN_BUCKETS,
)
QUEUE_WAIT_SECONDS = Histogram(
    "queue_wait_seconds",
    "Time a job waited between being sent to its queue and a worker claiming it, by kind.",
    ["kind"],
    namespace=NAMESPACE,
    buckets=_QUEUE_WAIT_BUCKETS,
)


def queue_wait_observe(*, kind: str, sent_at, claimed_at) -> None:
    """Record a claim's wait; no-op when the send time is unknown (a row created before enqueued_at existed)."""
    if sent_at is not None:
        QUEUE_WAIT_SECONDS.labels(kind=kind).observe(max(0.0, (claimed_at - sent_at).total_seconds()))
