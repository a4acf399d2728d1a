"""/dashboard/experiments/: list, create from variants, detail with live stats, start/pause/resume/conclude."""
from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from prefcontent.content import selectors as content_selectors
from prefcontent.content import services as content_services
from prefcontent.core.errors import InvalidInput, InvalidState
from prefcontent.dashboard.experiment_stats import (
    arm_rows,
    posterior_chart,
    rate_over_time_chart,
)
from prefcontent.dashboard.forms import ExperimentCreateForm, VariantAddForm
from prefcontent.dashboard.views.base import (
    Dash,
    dashboard_page,
    form_error,
    page_context,
)
from prefcontent.experiments import decisions
from prefcontent.experiments import selectors as experiment_selectors
from prefcontent.experiments import services as experiment_services
from prefcontent.experiments.models import PAUSED, RUNNING, Experiment

RECENT_VARIANTS = 50
EXPERIMENTS_SHOWN = 100  # newest first; older ones stay reachable through the API
LIVE = (RUNNING, PAUSED)


def _variants(dash: Dash):
    return list(content_selectors.variant_list(principal=dash.principal).filter(brand=dash.brand)
                .order_by("-id")[:RECENT_VARIANTS])


def _render_list(request: HttpRequest, dash: Dash, *, status: int = 200, **forms) -> HttpResponse:
    variants = _variants(dash)
    experiments = (experiment_selectors.experiment_list(principal=dash.principal).filter(brand=dash.brand)
                   .select_related("decision").prefetch_related("arms").order_by("-id")[:EXPERIMENTS_SHOWN])
    context = page_context(
        dash, experiments=experiments, variants=variants,
        create_form=forms.get("create_form") or ExperimentCreateForm(variants=variants),
        variant_form=forms.get("variant_form") or VariantAddForm(),
    )
    return render(request, "dashboard/experiments/list.html", context, status=status)


@require_GET
@dashboard_page
def experiment_list(request: HttpRequest, dash: Dash) -> HttpResponse:
    return _render_list(request, dash)


@require_POST
@dashboard_page
def variant_add(request: HttpRequest, dash: Dash) -> HttpResponse:
    form = VariantAddForm(request.POST)
    if form.is_valid():
        try:
            content_services.variant_create(principal=dash.principal, brand=dash.brand, text=form.cleaned_data["text"])
        except InvalidInput as exc:
            form_error(form, exc)
        else:
            messages.success(request, "Variant added.")
            return redirect("dashboard:experiments")
    return _render_list(request, dash, status=400, variant_form=form)


@require_POST
@dashboard_page
def experiment_create(request: HttpRequest, dash: Dash) -> HttpResponse:
    form = ExperimentCreateForm(request.POST, variants=_variants(dash))
    if form.is_valid():
        data = form.cleaned_data
        arms = [experiment_services.ArmSpec(
                    variant=content_selectors.variant_get(principal=dash.principal, variant_id=variant_id),
                    is_control=variant_id == data["control"])
                for variant_id in sorted(data["variants"], key=lambda v: v != data["control"])]  # control first
        try:
            experiment = experiment_services.experiment_create(
                principal=dash.principal, brand=dash.brand, name=data["name"], arms=arms,
                allocation=data["allocation"], primary_metric=data["primary_metric"],
                min_sample_per_arm=data["min_sample_per_arm"],
            )
        except InvalidInput as exc:
            form_error(form, exc)
        else:
            messages.success(request, f"Experiment “{experiment.name}” created as a draft.")
            return redirect("dashboard:experiment_detail", experiment_id=experiment.pk)
    return _render_list(request, dash, status=400, create_form=form)


def _stats_context(experiment: Experiment) -> dict:
    arms = list(experiment.arms.select_related("variant").order_by("id"))
    decision = getattr(experiment, "decision", None)
    evidence = decision.evidence if decision is not None else \
        decisions.experiment_latest_evidence(experiment=experiment)
    rows = arm_rows(arms, evidence)
    return {"experiment": experiment, "decision": decision, "evidence": evidence, "rows": rows,
            "analysis": evidence.get("analysis", {}), "live": experiment.status in LIVE,
            "rate_chart": rate_over_time_chart(experiment, rows), "posterior_chart": posterior_chart(rows)}


def _experiment(dash: Dash, experiment_id: int) -> Experiment:
    return experiment_selectors.experiment_get(principal=dash.principal, experiment_id=experiment_id)


@require_GET
@dashboard_page
def experiment_detail(request: HttpRequest, dash: Dash, experiment_id: int) -> HttpResponse:
    experiment = _experiment(dash, experiment_id)
    return render(request, "dashboard/experiments/detail.html", page_context(dash, **_stats_context(experiment)))


@require_GET
@dashboard_page
def experiment_stats(request: HttpRequest, dash: Dash, experiment_id: int) -> HttpResponse:
    """The live part of the detail page, polled while the experiment runs."""
    experiment = _experiment(dash, experiment_id)
    response = render(request, "dashboard/experiments/_stats.html", page_context(dash, **_stats_context(experiment)))
    if experiment.status not in LIVE:
        response["X-Poll-Done"] = "1"
    return response


ACTIONS = ("start", "pause", "resume", "conclude", "evaluate")


def _apply(action: str, dash: Dash, experiment: Experiment) -> Experiment:
    if action == "conclude":  # a winner if the rules give one now, else stopped inconclusive
        return decisions.experiment_stop(principal=dash.principal, experiment=experiment).experiment
    if action == "evaluate":  # conclude only if the rules give a winner; otherwise keep running
        return decisions.experiment_decide(principal=dash.principal, experiment=experiment).experiment
    return experiment_services.experiment_transition(principal=dash.principal, experiment=experiment, action=action)


@require_POST
@dashboard_page
def experiment_action(request: HttpRequest, dash: Dash, experiment_id: int, action: str) -> HttpResponse:
    experiment = _experiment(dash, experiment_id)
    try:
        experiment = _apply(action, dash, experiment)
    except InvalidState as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Experiment is {experiment.status}.")
    return redirect("dashboard:experiment_detail", experiment_id=experiment.pk)
