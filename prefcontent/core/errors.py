"""The one error shape: {"error": {"code": str, "message": str, "details": {...}}}.

Domain code raises `DomainError` subclasses; `exception_handler` maps them and every DRF
and Django exception to that shape, so views never build error bodies by hand.
"""
from __future__ import annotations

import logging
from typing import Any

from django import db
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """A business-rule failure with a stable code and an HTTP status."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or {}


class InvalidInput(DomainError):
    status_code = 400
    code = "invalid"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Forbidden(DomainError):
    status_code = 403
    code = "permission_denied"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class InvalidState(DomainError):
    status_code = 409
    code = "invalid_state"


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"


class LimitExceeded(DomainError):
    """A quota was hit; `retry_after` (seconds) becomes the Retry-After header."""

    status_code = 429
    code = "limit_exceeded"

    def __init__(self, message: str, *, retry_after: int | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServiceUnavailable(DomainError):
    status_code = 503
    code = "unavailable"


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _drf_code(exc: drf_exceptions.APIException) -> str:
    codes = {
        drf_exceptions.ValidationError: "validation_error",
        drf_exceptions.ParseError: "malformed_request",
        drf_exceptions.NotAuthenticated: "not_authenticated",
        drf_exceptions.AuthenticationFailed: "authentication_failed",
        drf_exceptions.PermissionDenied: "permission_denied",
        drf_exceptions.NotFound: "not_found",
        drf_exceptions.MethodNotAllowed: "method_not_allowed",
        drf_exceptions.NotAcceptable: "not_acceptable",
        drf_exceptions.UnsupportedMediaType: "unsupported_media_type",
        drf_exceptions.Throttled: "rate_limited",
    }
    for cls, code in codes.items():
        if isinstance(exc, cls):
            return code
    return getattr(exc, "default_code", "error")


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        response = Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
        if isinstance(exc, LimitExceeded) and exc.retry_after is not None:
            response["Retry-After"] = str(int(exc.retry_after))
        return response
    if isinstance(exc, (db.OperationalError, db.InterfaceError)):
        # The database went away mid-request: the transaction rolled back, nothing was half-written,
        # and the client may retry (events are idempotent by event_id).
        logger.error("database unavailable", exc_info=exc)
        response = Response(error_body("database_unavailable", "The database is unavailable; retry shortly."),
                            status=503)
        response["Retry-After"] = "1"
        return response
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body("payload_too_large", "Request body is too large."), status=413)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = drf_exceptions.ValidationError(detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages)

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    assert isinstance(exc, drf_exceptions.APIException)
    code = _drf_code(exc)
    if isinstance(exc, drf_exceptions.ValidationError):
        message = "The request is not valid."
        details = {"fields": response.data} if isinstance(response.data, dict) else {"errors": response.data}
    else:
        message = str(exc.detail) if not isinstance(exc.detail, (dict, list)) else exc.default_detail
        details = {}
        if isinstance(exc, drf_exceptions.Throttled) and exc.wait is not None:
            details["retry_after_s"] = int(exc.wait) + 1
            response["Retry-After"] = str(int(exc.wait) + 1)
    response.data = error_body(code, str(message), details)
    return response


def json_error(status: int, code: str, message: str, details: dict | None = None) -> JsonResponse:
    return JsonResponse(error_body(code, message, details), status=status)


def handler500(request):  # noqa: ARG001
    return json_error(500, "server_error", "Internal server error.")


def handler400(request, exception=None):  # noqa: ARG001
    return json_error(400, "bad_request", "Bad request.")


def handler403(request, exception=None):  # noqa: ARG001
    return json_error(403, "permission_denied", "Permission denied.")
