from pathlib import Path

from django.conf import settings

from tests.prefcontent.adapters.factories import make_adapter
from tests.tenancy import RouteCase


def _adapter_a(w, version=1, status="candidate"):
    key = f"adapter-{version}"
    if key not in w.extra:
        w.extra[key] = make_adapter(w.brand_a, version=version, status=status,
                                    tmp_path=Path(settings.MODELS_STORE_URL).parent / "adapter-src")
    return w.extra[key].pk


ROUTES = {
    "adapter-version-list": RouteCase(hidden_ids=lambda w: {_adapter_a(w)}),
    "adapter-version-detail": RouteCase(kwargs=lambda w: {"pk": _adapter_a(w)}),
    "adapter-version-promote": RouteCase(kwargs=lambda w: {"pk": _adapter_a(w)}),
    "adapter-version-rollback": RouteCase(kwargs=lambda w: {"pk": _adapter_a(w, status="retired")}),
}
