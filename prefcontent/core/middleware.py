from __future__ import annotations

import io
import re

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream

from prefcontent.core.errors import json_error
from prefcontent.core.logging import new_request_id, request_id_var

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Tags each request (and its logs and tasks) with an id."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _SAFE_ID.match(incoming) else new_request_id()
        token = request_id_var.set(rid)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = rid
        return response


class RequestBodyMiddleware:
    """Every API body has a known length within its limit before anything reads it (and no query
    string holds a NUL).

    A chunked body (no Content-Length) is read here, up to its limit, when the server says the input
    ends with the body (`wsgi.input_terminated`, as gunicorn does); Django alone would read it as
    empty, so a PATCH would answer 200 and change nothing. A server that cannot say so gets 411.
    A refused body (413) is drained, up to `DRAIN_MAX_BYTES`, so that a keep-alive connection
    really is ready for the next request when the answer says it is.
    """

    DRAIN_MAX_BYTES = 64 * 1024 * 1024
    CHUNK = 64 * 1024

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        if "%00" in request.META.get("QUERY_STRING", ""):
            # PostgreSQL cannot compare with a string holding NUL (psycopg refuses it): a filter would be a 500.
            return json_error(400, "invalid_text", "The query string contains a NUL character.")
        meta = request.META
        limit = self._limit(request)
        if "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower() and not meta.get("CONTENT_LENGTH"):
            if not meta.get("wsgi.input_terminated"):
                return json_error(411, "length_required", "Send a Content-Length: this server cannot read a "
                                  "chunked request body.")
            source = meta["wsgi.input"]
            body = source.read(limit + 1)
            if len(body) > limit:
                self._drain(source)
                return self._too_large(limit)
            request._stream = LimitedStream(io.BytesIO(body), len(body))
            meta["CONTENT_LENGTH"] = str(len(body))
            return self.get_response(request)
        try:
            length = int(meta.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return json_error(400, "bad_request", "Content-Length is not a number.")
        if length > limit:
            self._drain(request._stream)
            return self._too_large(limit)
        return self.get_response(request)

    @staticmethod
    def _limit(request) -> int:
        if request.path.rstrip("/").endswith("/import"):
            return settings.MAX_IMPORT_BYTES + 64 * 1024  # room for multipart framing
        return settings.MAX_REQUEST_BYTES

    @staticmethod
    def _too_large(limit: int):
        return json_error(413, "payload_too_large", f"Request body exceeds {limit} bytes.", {"max_bytes": limit})

    def _drain(self, stream) -> None:
        drained = 0
        while drained < self.DRAIN_MAX_BYTES:
            chunk = stream.read(self.CHUNK)
            if not chunk:
                return
            drained += len(chunk)
