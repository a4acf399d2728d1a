"""JSON logs: the request id follows a request into the Celery tasks it causes; no secret is logged."""
from __future__ import annotations

import copy
import io
import json
import logging
import logging.config
import time
import uuid

import pytest
from django.conf import settings
from django.http import JsonResponse
from django.test import override_settings
from django.urls import path

from prefcontent.core.logging import (
    REDACTED,
    RequestIdFilter,
    redact_text,
    request_id_var,
)
from prefcontent.core.models import WorkerHeartbeat
from prefcontent.core.secrets import issue_secret


def _enqueue_ping(request):
    from prefcontent.core.tasks import ping

    result = ping.delay(request.GET["marker"])
    return JsonResponse({"task_id": result.id})


# This module doubles as the URLconf of the request-id test: one view that enqueues a task.
urlpatterns = [path("enqueue", _enqueue_ping)]


def _json_lines(text: str) -> list[dict]:
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


@pytest.mark.smoke
@pytest.mark.slow
@override_settings(ROOT_URLCONF=__name__)
def test_a_task_enqueued_during_a_request_logs_with_that_request_id(celery_worker, client):
    marker = f"rid-{uuid.uuid4().hex}"
    rid = f"req-{uuid.uuid4().hex[:12]}"

    response = client.get("/enqueue", {"marker": marker}, HTTP_X_REQUEST_ID=rid)

    assert response.status_code == 200 and response["X-Request-ID"] == rid
    task_id = response.json()["task_id"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not WorkerHeartbeat.objects.filter(marker=marker).exists():
        time.sleep(0.1)
    assert WorkerHeartbeat.objects.filter(marker=marker).exists(), celery_worker.log()
    # The success line is written after the task body returns; give the worker a moment to flush it.
    task_lines: list[dict] = []
    while time.monotonic() < deadline and not any("succeeded" in ln["message"] for ln in task_lines):
        task_lines = [ln for ln in _json_lines(celery_worker.log()) if task_id in ln.get("message", "")]
        time.sleep(0.1)
    succeeded = [ln for ln in task_lines if "succeeded" in ln["message"]]
    assert succeeded, celery_worker.log()
    # The worker logs through Django's JSON formatter, and the task's lines carry the request's id.
    assert succeeded[0]["request_id"] == rid
    assert {"asctime", "levelname", "name"} <= set(succeeded[0])


@pytest.mark.django_db
def test_an_eager_task_keeps_the_request_id_of_its_caller():
    from prefcontent.core.tasks import ping

    token = request_id_var.set("caller-id")
    try:
        ping.apply(args=[f"eager-{uuid.uuid4().hex}"])
        assert request_id_var.get() == "caller-id"
    finally:
        request_id_var.reset(token)


@pytest.fixture
def json_log():
    """A logger with settings.LOGGING's console formatter and filters, writing to a buffer."""
    stream = io.StringIO()
    conf = copy.deepcopy(settings.LOGGING)
    configurator = logging.config.DictConfigurator(conf)
    console = conf["handlers"]["console"]
    handler = logging.StreamHandler(stream)
    handler.setFormatter(configurator.configure_formatter(conf["formatters"][console["formatter"]]))
    for name in console["filters"]:
        handler.addFilter(configurator.configure_filter(conf["filters"][name]))
    logger = logging.getLogger(f"test.redaction.{uuid.uuid4().hex}")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.lines = lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    return logger


def test_log_lines_are_json_with_the_current_request_id(json_log):
    token = request_id_var.set("abc123")
    try:
        json_log.info("hello %s", "world")
    finally:
        request_id_var.reset(token)
    (line,) = json_log.lines()
    assert line["message"] == "hello world"
    assert line["request_id"] == "abc123"
    assert line["levelname"] == "INFO"


def test_api_keys_and_user_tokens_are_redacted_everywhere_in_a_line(json_log):
    key = issue_secret(settings.API_KEY_PREFIX).plaintext
    token = issue_secret(settings.USER_TOKEN_PREFIX).plaintext
    secret_body = key.split("_", 2)[2]

    json_log.info("key %s used", key)
    json_log.info("auth header Bearer %s", token, extra={"headers": {"X-API-Key": key, "ok": [token]}})
    try:
        raise ValueError(f"bad key {key}")
    except ValueError:
        json_log.exception("failed with %r", {"api_key": key})

    text = "\n".join(json.dumps(line) for line in json_log.lines())
    assert key not in text and token not in text and secret_body not in text
    first, second, third = json_log.lines()
    # The non-secret prefix stays, so the key can still be found in the database and audit log.
    assert first["message"] == f"key pck_{key.split('_')[1]}_{REDACTED} used"
    assert second["headers"]["X-API-Key"] == REDACTED
    assert second["headers"]["ok"] == [f"pcu_{token.split('_')[1]}_{REDACTED}"]
    assert "ValueError" in third["exc_info"] and REDACTED in third["exc_info"]


def test_password_fields_and_url_credentials_are_redacted(json_log):
    json_log.warning("login failed password=hunter2 user=bob")
    json_log.warning("payload %s", json.dumps({"username": "bob", "new_password": "s3cr3t!", "max_tokens": 64}))
    json_log.warning("connecting to postgres://app:pa55word@db:5432/prefcontent")
    json_log.warning("settings", extra={"password": "hunter2", "METRICS_TOKEN": "tok-123456789"})

    first, second, third, fourth = json_log.lines()
    assert first["message"] == f"login failed password={REDACTED} user=bob"
    assert "s3cr3t" not in second["message"] and '"username": "bob"' in second["message"]
    assert '"max_tokens": 64' in second["message"]  # not a secret: "tokens" is not "token"
    assert third["message"] == f"connecting to postgres://app:{REDACTED}@db:5432/prefcontent"
    assert fourth["password"] == REDACTED and fourth["METRICS_TOKEN"] == REDACTED


class _FakeRequest:
    def __str__(self) -> str:
        return "<WSGIRequest: GET '/api/v1/events?api_key=pck_0123456789ab_secretsecretsecret'>"


def test_objects_passed_as_extra_are_rendered_and_redacted(json_log):
    json_log.error("Internal Server Error", extra={"request": _FakeRequest(), "status_code": 500})

    (line,) = json_log.lines()
    assert "secretsecretsecret" not in line["request"] and "pck_0123456789ab_" in line["request"]
    assert line["status_code"] == 500


def test_a_dict_message_stays_a_dict_with_its_secrets_masked(json_log):
    json_log.info({"event": "login", "password": "hunter2", "detail": "Bearer abcdefgh12345678"})

    (line,) = json_log.lines()
    assert line["event"] == "login" and line["password"] == REDACTED
    assert line["detail"] == f"Bearer {REDACTED}"


def test_a_malformed_log_call_does_not_raise_from_the_filter():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "two placeholders %s %s", ("one",), None)

    # The handler then reports the bad call as a logging error; the code that logged goes on.
    assert RequestIdFilter().filter(record) is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abcdefgh12345678", REDACTED),
        ("pck_short_but_malformed_key", f"pck_{REDACTED}"),
        ('{"secret_key": "x"}', f'"secret_key": "{REDACTED}"'),
        ("no secrets here, 42 tokens", "no secrets here, 42 tokens"),
    ],
)
def test_redact_text_masks_each_credential_shape(text, expected):
    redacted = redact_text(text)
    assert expected in redacted
    assert "abcdefgh12345678" not in redacted and "short_but_malformed_key" not in redacted
