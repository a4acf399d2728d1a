"""Unknown routes answer in the shared error shape, in development too (Django's debug 404 page is HTML).

The project's URL conf sends every path that no route matches, outside /dashboard/, /admin/ and
/static/, here. A path that exists with a trailing slash says so, instead of a redirect that would
turn a POST into a GET.
"""
from __future__ import annotations

from django.urls import Resolver404, resolve

from prefcontent.core.errors import json_error

ROUTE_NAME = "route_not_found"


def route_not_found(request, exception=None):  # noqa: ARG001 - Django's handler signature
    details = {}
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.url_name != ROUTE_NAME:
            details["did_you_mean"] = request.path + "/"
    return json_error(404, "not_found", f"No route matches {request.path}.", details)
