"""/dashboard/: the brand overview."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from prefcontent.accounts import selectors as account_selectors
from prefcontent.dashboard.overview_data import overview_for
from prefcontent.dashboard.views.base import Dash, dashboard_page, page_context

RECENT_AUDIT = 10


@require_GET
@dashboard_page
def overview(request: HttpRequest, dash: Dash) -> HttpResponse:
    audit = (
        account_selectors.audit_log_list(principal=dash.principal)
        .filter(brand_id=dash.brand.pk)
        .select_related("actor_user")[:RECENT_AUDIT]
    )
    data = overview_for(principal=dash.principal, brand=dash.brand)
    return render(request, "dashboard/overview.html", page_context(dash, audit=audit, overview=data))
