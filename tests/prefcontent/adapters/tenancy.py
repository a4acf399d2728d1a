from pathlib import Path

from django.conf import settings

from tests.prefcontent.adapters.factories import make_adapter
from tests.tenancy import RouteCase, ServiceCase


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


def _adapter_row_a(w, version=1, status="candidate"):
    _adapter_a(w, version=version, status=status)
    return w.extra[f"adapter-{version}"]


def _rollback_target(w):
    _adapter_row_a(w, version=2, status="active")
    return _adapter_row_a(w, version=1, status="retired")


_SERVICES = "prefcontent.adapters.services."
SERVICES = {
    _SERVICES + "adapter_promote": ServiceCase("adapters.promote", lambda w: {"adapter": _adapter_row_a(w)}),
    _SERVICES + "adapter_rollback": ServiceCase("adapters.promote", lambda w: {"adapter": _rollback_target(w)}),
}
UNCHECKED = {
    _SERVICES + "brand_lock": "a lock its callers take inside their own transaction",
    _SERVICES + "adapter_artifact_key": "pure: names a models-store key",
    _SERVICES + "adapter_version_publish": "worker: the training runner records the adapter it trained",
    _SERVICES + "adapter_auto_promote": "worker: the runner activates a candidate that passed the gate",
}
