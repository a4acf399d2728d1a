"""URLconf of the snippet test: the project's routes plus a stand-in CMS page (tests only)."""
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils.html import escape

from prefcontent.urls import urlpatterns as project_urlpatterns

# The snippet shows the fallback when no assignment lands within its timeout (1 s by default); a loaded
# test machine answers slower than a real one, and these tests are about what happens when it lands.
TIMEOUT_MS = 60_000


def cms_page(request: HttpRequest, experiment_id: int) -> HttpResponse:
    """A CMS page embedding the snippet as a customer would; `api` is the app's origin, `key` the page's key."""
    api, key = escape(request.GET["api"]), escape(request.GET["key"])
    return HttpResponse(
        f'<!doctype html><html><body><h1 id="headline" data-prefcontent-experiment="{experiment_id}">Fallback</h1>'
        f'<script src="{api}/api/v1/snippet.js" data-api-key="{key}" data-timeout="{TIMEOUT_MS}" async></script>'
        f'</body></html>')


def checkout_page(request: HttpRequest) -> HttpResponse:
    """A later page of the same site that shows no experiment; the page reports the purchase itself."""
    api, key = escape(request.GET["api"]), escape(request.GET["key"])
    return HttpResponse(
        f'<!doctype html><html><body><p id="thanks">Thank you for your order</p>'
        f'<script src="{api}/api/v1/snippet.js" data-api-key="{key}"></script></body></html>')


def app_page(request: HttpRequest) -> HttpResponse:
    """A single-page app shell: experiment elements are added by script after load."""
    api, key = escape(request.GET["api"]), escape(request.GET["key"])
    return HttpResponse(
        f'<!doctype html><html><body><div id="app"></div>'
        f'<script src="{api}/api/v1/snippet.js" data-api-key="{key}" data-timeout="{TIMEOUT_MS}"></script></body></html>')


# First: the project's last route is a catch-all JSON 404.
urlpatterns = [path("cms-test/<int:experiment_id>/", cms_page), path("cms-test/checkout/", checkout_page),
               path("cms-test/app/", app_page), *project_urlpatterns]
