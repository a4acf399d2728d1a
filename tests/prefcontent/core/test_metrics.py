"""/metrics: HTTP metrics by route, domain metrics, scrape-time collectors, token, multiprocess mode."""
from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import ProgrammingError, connection
from kombu import Connection, Exchange, Queue
from prometheus_client.parser import text_string_to_metric_families

from prefcontent.core import metrics
from prefcontent.core.metrics_collectors import (
    CeleryQueueLengthCollector,
    TrainingRunsCollector,
)
from prefcontent.core.metrics_exporter import exporter_app
from tests.factories import MembershipFactory

ROOT = Path(__file__).resolve().parents[3]


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of an exposition."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def scrape(client, **headers) -> str:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def collected(collector) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value for family in collector.collect() for s in family.samples
    }


@pytest.mark.django_db
def test_requests_are_counted_by_route_name_never_by_raw_path(client):
    client.get("/healthz")
    probe = f"/no-such-page-{uuid.uuid4().hex}"
    client.get(probe)

    text = scrape(client)

    values = samples(text)
    ok = ("prefcontent_http_requests_total", (("method", "GET"), ("route", "healthz"), ("status", "200")))
    missing = ("prefcontent_http_requests_total", (("method", "GET"), ("route", "<unmatched>"), ("status", "404")))
    assert values[ok] >= 1 and values[missing] >= 1
    assert probe.strip("/") not in text
    assert values[("prefcontent_http_request_duration_seconds_count", (("method", "GET"), ("route", "healthz")))] >= 1


@pytest.mark.django_db
def test_api_routes_are_labelled_with_their_url_name(client, owner_client, brand):
    from django.urls import resolve

    path = f"/api/v1/brands/{brand.id}/"
    match = resolve(path)
    owner_client.get(path)

    values = samples(scrape(client))

    assert str(brand.id) not in match.view_name
    label = (("method", "GET"), ("route", match.view_name), ("status", "200"))
    assert values[("prefcontent_http_requests_total", label)] >= 1


def test_every_domain_metric_is_recorded_by_a_product_module():
    """A metric defined but recorded nowhere reads 0 on every dashboard. Each is recorded in the code and
    checked through real traffic: tests/prefcontent/experiments/test_metrics_traffic.py (events, assignments,
    decisions, pairs), training/test_runner.py (steps, gate checks, promotion, run duration, queue wait),
    generation/test_api.py (engine latency, job duration, queue wait), adapters/test_api.py (manual promotion)."""
    from prometheus_client import Counter, Histogram

    defined = {name for name, value in vars(metrics).items() if isinstance(value, (Counter, Histogram))}
    domain = defined - {"HTTP_REQUESTS", "HTTP_REQUEST_DURATION_SECONDS"}
    sources = [p for p in (ROOT / "prefcontent").rglob("*.py") if p.name != "metrics.py"]
    text = "\n".join(p.read_text() for p in sources)
    through = {"QUEUE_WAIT_SECONDS": "metrics.queue_wait_observe("}  # recorded through a helper
    unrecorded = sorted(name for name in domain if through.get(name, f"metrics.{name}.") not in text)
    assert len(domain) >= 12 and unrecorded == []


@pytest.mark.django_db
def test_the_token_protects_metrics_when_set(client, settings):
    settings.METRICS_TOKEN = "scrape-secret-123"

    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Basic scrape-secret-123").status_code == 401
    assert "prefcontent_http_requests_total" in scrape(client, HTTP_AUTHORIZATION="Bearer scrape-secret-123")


@pytest.mark.django_db
def test_the_token_can_come_from_the_environment(client, monkeypatch):
    assert client.get("/metrics").status_code == 200  # open while no token is configured
    monkeypatch.setenv("METRICS_TOKEN", "env-token-456")

    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer env-token-456").status_code == 200


@pytest.mark.django_db
def test_the_scrape_reports_training_runs_and_queue_lengths(client):
    from prefcontent.training.models import TrainingRun

    values = samples(scrape(client))

    for state in TrainingRun.State.values:
        assert values[("prefcontent_training_runs", (("state", state),))] == TrainingRun.objects.filter(
            state=state
        ).count()
    for queue in ("default", "gpu", "generate"):
        assert ("prefcontent_celery_queue_length", (("queue", queue),)) in values
    assert values[("prefcontent_collector_up", (("collector", "training_runs"),))] == 1
    assert values[("prefcontent_collector_up", (("collector", "celery_queue_length"),))] == 1


@pytest.mark.django_db
def test_rows_by_state_are_counted_with_zeros_for_empty_states(org):
    MembershipFactory(organization=org, role="owner")
    MembershipFactory(organization=org, role="viewer")
    MembershipFactory(organization=org, role="viewer")
    collector = TrainingRunsCollector(app_label="accounts", model_name="Membership", state_field="role")

    values = collected(collector)

    assert values[("prefcontent_training_runs", (("state", "owner"),))] == 1
    assert values[("prefcontent_training_runs", (("state", "viewer"),))] == 2
    assert values[("prefcontent_training_runs", (("state", "admin"),))] == 0
    assert values[("prefcontent_collector_up", (("collector", "training_runs"),))] == 1


@pytest.mark.django_db
def test_training_runs_collector_tolerates_a_missing_model_or_table():
    assert collected(TrainingRunsCollector(app_label="training", model_name="NoSuchModel")) == {}

    def fail(execute, sql, params, many, context):
        raise ProgrammingError('relation "training_trainingrun" does not exist')

    with connection.execute_wrapper(fail):
        values = collected(TrainingRunsCollector())

    assert values == {("prefcontent_collector_up", (("collector", "training_runs"),)): 0.0}
    # The savepoint kept the test's transaction usable.
    assert collected(TrainingRunsCollector())[("prefcontent_collector_up", (("collector", "training_runs"),))] == 1


def _publish(url: str, options: dict, counts: dict[str, int], priority: int | None = None) -> None:
    exchange = Exchange(f"metrics-test-{'-'.join(counts)}", type="direct")
    with Connection(url, transport_options=options) as conn:
        producer = conn.Producer()
        for queue, n in counts.items():
            q = Queue(queue, exchange, routing_key=queue)
            for i in range(n):
                producer.publish({"i": i}, exchange=exchange, routing_key=queue, declare=[q], priority=priority)


def test_queue_lengths_on_the_filesystem_broker_count_message_files(tmp_path):
    options = {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path), "control_folder": str(tmp_path / "control")}
    _publish("filesystem://", options, {"q-default": 3, "q-gpu": 1})

    collector = CeleryQueueLengthCollector("filesystem://", options, ("q-default", "q-gpu", "q-generate"))
    values = collected(collector)

    assert values[("prefcontent_celery_queue_length", (("queue", "q-default"),))] == 3
    assert values[("prefcontent_celery_queue_length", (("queue", "q-gpu"),))] == 1
    assert values[("prefcontent_celery_queue_length", (("queue", "q-generate"),))] == 0


REDIS_URL = "redis://127.0.0.1:6379/15"


def _redis_or_skip():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379 (the embedded-default CI run)")
    return client


def test_queue_lengths_on_redis_sum_the_priority_lists():
    client = _redis_or_skip()
    suffix = uuid.uuid4().hex[:8]
    default, gpu = f"default-{suffix}", f"gpu-{suffix}"
    try:
        _publish(REDIS_URL, {}, {default: 2, gpu: 1})
        _publish(REDIS_URL, {}, {default: 1}, priority=6)  # lands in kombu's "<queue>\x06\x166" list

        values = collected(CeleryQueueLengthCollector(REDIS_URL, {}, (default, gpu)))

        assert values[("prefcontent_celery_queue_length", (("queue", default),))] == 3
        assert values[("prefcontent_celery_queue_length", (("queue", gpu),))] == 1
    finally:
        for key in client.scan_iter(f"*{suffix}*"):
            client.delete(key)


def test_an_unreachable_broker_reports_collector_down_instead_of_failing_the_scrape():
    values = collected(CeleryQueueLengthCollector("redis://127.0.0.1:1/0", {}, ("default",)))

    assert values == {("prefcontent_collector_up", (("collector", "celery_queue_length"),)): 0.0}


# A probe of the process's own, not a product metric: the test is about summing files, and a product
# metric is only ever moved by product code.
_INCREMENT = """
from prometheus_client import Counter, Histogram
from prefcontent.core import metrics
Counter("multiprocess_probe", "test probe", ["brand"], namespace=metrics.NAMESPACE).labels(brand="9").inc({n})
Histogram("multiprocess_probe_seconds", "test probe", namespace=metrics.NAMESPACE).observe(0.2)
"""


def _increment_in_a_process(mp_dir: Path, n: int) -> None:
    env = {"PROMETHEUS_MULTIPROC_DIR": str(mp_dir), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", _INCREMENT.format(n=n)], cwd=ROOT, env=env, check=True, timeout=60)


def _wsgi_get(app) -> str:
    statuses = []
    body = b"".join(app({"REQUEST_METHOD": "GET", "PATH_INFO": "/metrics", "QUERY_STRING": ""},
                        lambda status, headers: statuses.append(status)))
    assert statuses[0].startswith("200")
    return body.decode()


@pytest.mark.django_db
def test_multiprocess_mode_sums_every_process_in_the_view_and_the_worker_exporter(tmp_path, client, monkeypatch):
    _increment_in_a_process(tmp_path, 2)
    _increment_in_a_process(tmp_path, 3)

    exporter = samples(_wsgi_get(exporter_app(str(tmp_path))))
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    web = samples(scrape(client))

    for values in (exporter, web):
        assert values[("prefcontent_multiprocess_probe_total", (("brand", "9"),))] == 5
        assert values[("prefcontent_multiprocess_probe_seconds_count", ())] == 2
    # The web scrape adds the scrape-time collectors; the worker exporter never touches DB or broker.
    assert any(name == "prefcontent_training_runs" for name, _ in web)
    assert not any(name.startswith(("prefcontent_training_runs", "prefcontent_celery")) for name, _ in exporter)
