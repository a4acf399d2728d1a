"""/dashboard/adapters/: versions with gate reports side by side, model cards, promote and rollback.

Promotion and rollback change what every generation of the brand uses, so both go through
a confirmation page (GET shows what will change, POST does it); no JavaScript is needed.
"""
from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from prefcontent.adapters import selectors as adapter_selectors
from prefcontent.adapters import services as adapter_services
from prefcontent.adapters.base_match import adapter_base_label, adapter_base_mismatch
from prefcontent.adapters.models import AdapterVersion
from prefcontent.core.errors import InvalidState
from prefcontent.core.fields import parse_id
from prefcontent.dashboard.views.base import Dash, dashboard_page, page_context

MAX_COMPARED = 4
ACTIONS = {
    "promote": (adapter_services.adapter_promote, "promoted"),
    "rollback": (adapter_services.adapter_rollback, "rolled back to"),
}


def gate_table(versions: list[AdapterVersion]) -> list[dict]:
    """One row per gate check, one cell per version: the check's value and verdict, aligned by name."""
    names: list[str] = []
    by_version = []
    for adapter in versions:
        checks = {c["name"]: c for c in (adapter.eval_report or {}).get("checks", [])}
        by_version.append(checks)
        names += [n for n in checks if n not in names]
    return [{"name": name, "cells": [checks.get(name) for checks in by_version]} for name in names]


def _brand_adapters(dash: Dash):
    return adapter_selectors.adapter_list(principal=dash.principal).filter(brand=dash.brand).order_by("-version")


def _with_base(adapter: AdapterVersion | None) -> AdapterVersion | None:
    """The adapter with `base_label` and `base_mismatch` (why it cannot run on the base in use, or None)."""
    if adapter is not None:
        adapter.base_label = adapter_base_label(adapter)
        adapter.base_mismatch = adapter_base_mismatch(adapter)
    return adapter


def _default_compared(adapters: list[AdapterVersion]) -> list[AdapterVersion]:
    active = [a for a in adapters if a.status == AdapterVersion.Status.ACTIVE]
    newest_other = [a for a in adapters if a.status != AdapterVersion.Status.ACTIVE][:1]
    return (active + newest_other) or adapters[:2]


@require_GET
@dashboard_page
def adapter_list(request: HttpRequest, dash: Dash) -> HttpResponse:
    adapters = [_with_base(a) for a in _brand_adapters(dash)]
    wanted = {parse_id(v) for v in request.GET.getlist("compare")} - {None}
    compared = [a for a in adapters if a.pk in wanted][:MAX_COMPARED] if wanted else _default_compared(adapters)
    context = page_context(dash, adapters=adapters, compared=compared, gate_rows=gate_table(compared),
                           active=_with_base(adapter_selectors.adapter_active_for(dash.brand)))
    return render(request, "dashboard/adapters/list.html", context)


def _adapter(dash: Dash, adapter_id: int) -> AdapterVersion:
    return adapter_selectors.adapter_get(principal=dash.principal, adapter_id=adapter_id)


@require_GET
@dashboard_page
def adapter_detail(request: HttpRequest, dash: Dash, adapter_id: int) -> HttpResponse:
    adapter = _with_base(_adapter(dash, adapter_id))
    active = adapter_selectors.adapter_active_for(adapter.brand)
    context = page_context(dash, adapter=adapter, active=active, compared=[adapter], gate_rows=gate_table([adapter]))
    return render(request, "dashboard/adapters/detail.html", context)


@require_http_methods(["GET", "POST"])
@dashboard_page
def adapter_action(request: HttpRequest, dash: Dash, adapter_id: int, action: str) -> HttpResponse:
    adapter = _adapter(dash, adapter_id)
    service, verb = ACTIONS[action]
    if request.method == "POST":
        try:
            service(principal=dash.principal, adapter=adapter)
        except InvalidState as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"{verb.capitalize()} adapter v{adapter.version}.")
        return redirect("dashboard:adapter_detail", adapter_id=adapter.pk)
    active = adapter_selectors.adapter_activation_preview(principal=dash.principal, adapter=adapter)
    compared = [active, adapter] if active is not None and active.pk != adapter.pk else [adapter]
    context = page_context(dash, adapter=adapter, active=active, action=action, compared=compared,
                           gate_rows=gate_table(compared))
    return render(request, "dashboard/adapters/confirm.html", context)
