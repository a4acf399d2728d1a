"""Minimal CORS for the endpoints the CMS snippet calls (assign, events), without a dependency.

A preflight carries no credentials, so it cannot name a brand: it is answered for any
origin. The real request is where the allow-list holds: a request made with an API key from
an Origin that is not in the key's brand's `settings["allowed_origins"]` (a list of exact
origins, or "*" for development) is refused with 403 before anything is read or stored, and
only an allowed origin gets Access-Control-Allow-Origin back.
"""
from __future__ import annotations

from django.http import HttpResponse

from prefcontent.brands.settings import brand_settings
from prefcontent.core.errors import Forbidden

PREFLIGHT_MAX_AGE_S = 600
ALLOWED_HEADERS = "Content-Type, X-API-Key, X-Request-ID"


def origin_allowed(brand, origin: str) -> bool:
    allowed = brand_settings(brand).allowed_origins
    return "*" in allowed or origin in allowed


class CorsMixin:
    """For a TenantAPIView: answers preflights, enforces the brand's allow-list, tags responses."""

    cors_methods = "GET, POST, OPTIONS"

    def initial(self, request, *args, **kwargs):
        if request.method == "OPTIONS":
            return  # a preflight has no credentials; see options()
        super().initial(request, *args, **kwargs)
        origin = request.headers.get("Origin")
        if origin and self.principal.is_api_key and not origin_allowed(request.auth.brand, origin):
            raise Forbidden("This origin is not in the brand's allowed_origins.", code="origin_not_allowed",
                            details={"origin": origin})

    def options(self, request, *args, **kwargs):
        response = HttpResponse(status=204)
        origin = request.headers.get("Origin")
        if origin:
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Allow-Methods"] = self.cors_methods
            response["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE_S)
        response["Vary"] = "Origin"
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        origin = request.headers.get("Origin")
        auth = getattr(request, "_auth", None)
        brand = getattr(auth, "brand", None)
        if origin and request.method != "OPTIONS" and brand is not None and origin_allowed(brand, origin):
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Expose-Headers"] = "X-Request-ID, Retry-After"
        response["Vary"] = "Origin"
        return response
