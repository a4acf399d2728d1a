"""URLconf of the snippet test: the project's routes plus a stand-in CMS page (tests only)."""
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils.html import escape

from prefcontent.urls import urlpatterns as project_urlpatterns


def cms_page(request: HttpRequest, experiment_id: int) -> HttpResponse:
    """A CMS page embedding the snippet as a customer would; `api` is the app's origin, `key` the page's key."""
    api, key = escape(request.GET["api"]), escape(request.GET["key"])
    return HttpResponse(
        f'<!doctype html><html><body><h1 id="headline" data-prefcontent-experiment="{experiment_id}">Fallback</h1>'
        f'<script src="{api}/api/v1/snippet.js" data-api-key="{key}" async></script></body></html>')


# First: the project ends with a catch-all JSON 404.
urlpatterns = [path("cms-test/<int:experiment_id>/", cms_page), *project_urlpatterns]
