from __future__ import annotations

import re

from django.conf import settings

from prefcontent.core.errors import json_error
from prefcontent.core.logging import new_request_id, request_id_var

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Tags each request (and its logs and tasks) with an id; refuses oversize API bodies early."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _SAFE_ID.match(incoming) else new_request_id()
        token = request_id_var.set(rid)
        try:
            if request.path.startswith("/api/") and not self._size_ok(request):
                response = json_error(
                    413,
                    "payload_too_large",
                    f"Request body exceeds {settings.MAX_REQUEST_BYTES} bytes.",
                    {"max_bytes": settings.MAX_REQUEST_BYTES},
                )
            else:
                response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = rid
        return response

    @staticmethod
    def _size_ok(request) -> bool:
        limit = getattr(request, "max_body_bytes", None) or settings.MAX_REQUEST_BYTES
        if request.path.rstrip("/").endswith("/import"):
            limit = settings.MAX_IMPORT_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return False
        return length <= limit
