"""Request ids (one per HTTP request, carried into the Celery tasks it causes) and secret redaction.

settings.LOGGING installs RequestIdFilter on every handler, so each log line carries the
request id and no line carries a credential: API keys and user tokens (`pck_...`, `pcu_...`),
bearer tokens, URL passwords and `password=`-style fields are masked in the message, the
arguments, extra fields and tracebacks.
"""
from __future__ import annotations

import contextvars
import logging
import re
import uuid
from typing import Any

from celery import signals as celery_signals

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

REDACTED = "[REDACTED]"

# `<kind>_<12 hex prefix>_<secret>` (prefcontent.core.secrets): keep the prefix, it is not secret and
# it identifies the key in the database and the audit log.
_ISSUED_SECRET = re.compile(r"(?<![A-Za-z0-9])(pck|pcu)_([0-9a-f]{12})_[A-Za-z0-9_\-]+")
# A malformed or truncated credential of ours still must not appear.
_LOOSE_SECRET = re.compile(r"(?<![A-Za-z0-9])(pck|pcu)_(?![0-9a-f]{12}_\[REDACTED\])[A-Za-z0-9_\-]{8,}")
# Authorization header schemes.
_BEARER = re.compile(r"(?i)\b(bearer|basic)(\s+)(?!\[REDACTED\])[A-Za-z0-9._~+/=\-]{8,}")
_URL_PASSWORD = re.compile(r"(?i)([a-z][a-z0-9+.\-]*://[^:/@\s]*:)[^@\s/]+(@)")
# A name that ENDS in one of these words: "password", "x-api-key", "METRICS_TOKEN", but not "max_tokens".
_SENSITIVE_NAME = r"[A-Za-z_\-]*(?:password|passwd|secret|token|api[_\-]?key|secret[_\-]?key|authorization)"
# password=..., "password": "...", 'api_key': '...', X-API-Key: ...
_SENSITIVE_FIELD = re.compile(
    rf"(?i)(\b{_SENSITIVE_NAME}[\"']?\s*[:=]\s*[\"']?)(?!\[REDACTED\]|(?:pck|pcu)_[0-9a-f]{{12}}_\[REDACTED\])"
    rf"([^\s\"',&;}}\]]+)"
)
_SENSITIVE_KEY = re.compile(rf"(?i)^{_SENSITIVE_NAME}$")
# Attributes every LogRecord has; everything else was passed with `extra=`.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def new_request_id() -> str:
    return uuid.uuid4().hex


def current_request_id() -> str:
    return request_id_var.get()


def redact_text(text: str) -> str:
    text = _ISSUED_SECRET.sub(rf"\1_\2_{REDACTED}", text)
    text = _LOOSE_SECRET.sub(rf"\1_{REDACTED}", text)
    text = _BEARER.sub(rf"\1\2{REDACTED}", text)
    text = _URL_PASSWORD.sub(rf"\1{REDACTED}\2", text)
    return _SENSITIVE_FIELD.sub(rf"\1{REDACTED}", text)


def redact_value(value: Any) -> Any:
    """Redacts strings, and the values of sensitive keys, inside nested dicts, lists and tuples.

    Other objects (a request passed as `extra`, say) would be rendered with str() by the JSON
    formatter; they are rendered here instead, and redacted.
    """
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {
            k: REDACTED if isinstance(k, str) and _SENSITIVE_KEY.match(k) else redact_value(v)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return type(value)(redact_value(v) for v in value)
    return redact_text(str(value))


def redact_record(record: logging.LogRecord) -> None:
    if isinstance(record.msg, dict) and not record.args:
        # python-json-logger merges a dict message into the line: keep it a dict.
        record.msg = redact_value(record.msg)
    else:
        _redact_message(record)
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact_text(record.exc_text)
        # Formatters that re-render exc_info (python-json-logger does) would bypass exc_text.
        record.exc_info = None
    if record.stack_info:
        record.stack_info = redact_text(record.stack_info)
    for key in set(vars(record)) - _STANDARD_ATTRS:
        value = getattr(record, key)
        setattr(record, key, REDACTED if _SENSITIVE_KEY.match(key) else redact_value(value))


def _redact_message(record: logging.LogRecord) -> None:
    # Render the message once, so a secret passed as a %-argument is masked too.
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a malformed call is reported by the handler, not raised here
        return
    record.msg = redact_text(message)
    record.args = None


class RequestIdFilter(logging.Filter):
    """The filter on every handler: tags the record with the request id, then redacts secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        redact_record(record)
        return True


@celery_signals.setup_logging.connect
def _use_django_logging(**_: Any) -> None:
    """Celery workers and beat keep Django's LOGGING (JSON, request id, redaction).

    Connecting any receiver stops Celery from replacing the root handlers with its own
    plain-text format. Django has configured logging already: Celery's Django fixup runs
    django.setup(), which imports this module, before the worker sets up logging.
    """
