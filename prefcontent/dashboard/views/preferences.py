"""/dashboard/preferences/: pairs with evidence and exclusion reasons, the bias report, snapshots and exports."""
from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from prefcontent.core.errors import InvalidInput, InvalidState
from prefcontent.dashboard.forms import PairFilterForm, SnapshotCreateForm
from prefcontent.dashboard.views.base import (
    Dash,
    dashboard_page,
    form_error,
    page_context,
)
from prefcontent.experiments import selectors as experiment_selectors
from prefcontent.preferences import selectors as preference_selectors
from prefcontent.preferences import services as preference_services
from prefcontent.preferences.exports import EXPORT_KINDS
from prefcontent.preferences.models import SPLITS
from prefcontent.preferences.snapshots import snapshot_create

PAIRS_PER_PAGE = 25
SNAPSHOTS_SHOWN = 20


def _render(request: HttpRequest, dash: Dash, *, status: int = 200, snapshot_form=None) -> HttpResponse:
    filters = PairFilterForm(request.GET or None)
    wanted = filters.cleaned_data if filters.is_valid() else {}
    pairs = preference_selectors.pair_list(
        principal=dash.principal, status=wanted.get("status") or None, reason=wanted.get("reason") or None,
        experiment_id=wanted.get("experiment"),
    ).filter(brand=dash.brand).select_related("experiment")
    page = Paginator(pairs, PAIRS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    snapshots = preference_selectors.snapshot_list(principal=dash.principal).filter(brand=dash.brand)
    report = preference_selectors.pair_report(brand=dash.brand)
    context = page_context(
        dash, page=page, filters=filters, query=query.urlencode(), report=report,
        bias_rows=[(name, values) for name, values in report["bias"].items() if isinstance(values, dict)
                   and name != "length"],
        snapshots=snapshots[:SNAPSHOTS_SHOWN], export_kinds=EXPORT_KINDS, splits=SPLITS,
        snapshot_form=snapshot_form or SnapshotCreateForm(),
    )
    return render(request, "dashboard/preferences.html", context, status=status)


@require_GET
@dashboard_page
def preferences(request: HttpRequest, dash: Dash) -> HttpResponse:
    return _render(request, dash)


@require_POST
@dashboard_page
def snapshot_new(request: HttpRequest, dash: Dash) -> HttpResponse:
    form = SnapshotCreateForm(request.POST)
    if form.is_valid():
        try:
            snapshot = snapshot_create(principal=dash.principal, brand=dash.brand, name=form.cleaned_data["name"],
                                       holdout_fraction=form.cleaned_data["holdout_fraction"])
        except (InvalidInput, InvalidState) as exc:
            form_error(form, exc)
        else:
            messages.success(request, f"Snapshot {snapshot.pk} frozen with {snapshot.counts.get('pairs')} pairs.")
            return redirect("dashboard:preferences")
    return _render(request, dash, status=400, snapshot_form=form)


@require_POST
@dashboard_page
def pairs_build(request: HttpRequest, dash: Dash, experiment_id: int) -> HttpResponse:
    experiment = experiment_selectors.experiment_get(principal=dash.principal, experiment_id=experiment_id)
    try:
        result = preference_services.pairs_build_on_demand(principal=dash.principal, experiment=experiment,
                                                           rebuild=request.POST.get("rebuild") == "1")
    except InvalidState as exc:
        messages.error(request, exc.message)
        return redirect("dashboard:experiment_detail", experiment_id=experiment.pk)
    messages.success(request, f"{result.pairs} pairs built, {result.active} usable.")
    return redirect(f"/dashboard/preferences/?experiment={experiment.pk}")
