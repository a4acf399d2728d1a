"""Records request counts and latency per route; labels use the URL name or pattern, never raw paths."""
from __future__ import annotations

import time

from django.http import HttpRequest, HttpResponse

from prefcontent.core import metrics
from prefcontent.core.not_found import ROUTE_NAME as CATCH_ALL_ROUTE

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Requests that matched no URL pattern share one label, so scanners cannot grow the series count.
UNMATCHED_ROUTE = "<unmatched>"


def route_label(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None or match.url_name == CATCH_ALL_ROUTE:  # the catch-all JSON 404 matches any path
        return UNMATCHED_ROUTE
    return match.view_name if match.url_name else (match.route or UNMATCHED_ROUTE)


class PrometheusMiddleware:
    """Outermost middleware: times the whole stack, including the other middleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - start
        method = request.method if request.method in _METHODS else "other"
        route = route_label(request)
        metrics.HTTP_REQUEST_DURATION_SECONDS.labels(method=method, route=route).observe(elapsed)
        metrics.HTTP_REQUESTS.labels(method=method, route=route, status=str(response.status_code)).inc()
        return response
