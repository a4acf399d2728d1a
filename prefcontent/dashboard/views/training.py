"""/dashboard/training/: runs with live progress, loss and reward-accuracy curves, start, cancel and retry;
the brand's retrain policy."""
from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from prefcontent.adapters import selectors as adapter_selectors
from prefcontent.adapters.models import AdapterVersion
from prefcontent.core.errors import (
    Conflict,
    InvalidInput,
    InvalidState,
    LimitExceeded,
    NotFound,
)
from prefcontent.dashboard.charts import Series, line_chart
from prefcontent.dashboard.forms import RetrainPolicyForm, TrainingRunForm
from prefcontent.dashboard.retrain import retrain_outlook, retrain_policy_of
from prefcontent.dashboard.views.base import (
    Dash,
    dashboard_page,
    form_error,
    page_context,
)
from prefcontent.preferences import selectors as preference_selectors
from prefcontent.training import policies as retrain_policies
from prefcontent.training import selectors as training_selectors
from prefcontent.training import services as training_services
from prefcontent.training.models import TrainingRun

RUNS_SHOWN = 50


def _form_choices(dash: Dash) -> dict:
    snapshots = preference_selectors.snapshot_list(principal=dash.principal).filter(brand=dash.brand)[:50]
    adapters = (adapter_selectors.adapter_list(principal=dash.principal).filter(brand=dash.brand)
                .exclude(status=AdapterVersion.Status.REJECTED).order_by("-version"))
    return {"snapshots": list(snapshots), "adapters": list(adapters)}


def _policy_form(policy) -> RetrainPolicyForm:
    if policy is None:
        return RetrainPolicyForm()
    return RetrainPolicyForm(initial={name: getattr(policy, name) for name in RetrainPolicyForm.base_fields})


def _render_list(request: HttpRequest, dash: Dash, *, status: int = 200, form=None,
                 policy_form=None) -> HttpResponse:
    runs = list(training_selectors.training_run_list(principal=dash.principal, brand_id=dash.brand.pk)
                .order_by("-created_at")[:RUNS_SHOWN])
    last_run = runs[0] if runs else None
    outlook = retrain_outlook(principal=dash.principal, brand=dash.brand, pairs_since_last_run=(
        preference_selectors.pairs_usable_since(dash.brand, last_run.created_at if last_run else None)))
    context = page_context(dash, runs=runs, form=form or TrainingRunForm(**_form_choices(dash)),
                           any_live=any(not run.is_terminal for run in runs), outlook=outlook,
                           policy_form=policy_form or _policy_form(outlook.policy))
    return render(request, "dashboard/training/list.html", context, status=status)


@require_GET
@dashboard_page
def run_list(request: HttpRequest, dash: Dash) -> HttpResponse:
    return _render_list(request, dash)


@require_GET
@dashboard_page
def run_rows(request: HttpRequest, dash: Dash) -> HttpResponse:
    """The runs table alone, polled while any run is queued or running."""
    runs = training_selectors.training_run_list(principal=dash.principal, brand_id=dash.brand.pk)[:RUNS_SHOWN]
    response = render(request, "dashboard/training/_runs.html", page_context(dash, runs=runs))
    if all(run.is_terminal for run in runs):
        response["X-Poll-Done"] = "1"
    return response


@require_POST
@dashboard_page
def run_create(request: HttpRequest, dash: Dash) -> HttpResponse:
    choices = _form_choices(dash)
    form = TrainingRunForm(request.POST, **choices)
    if form.is_valid():
        snapshot = next(s for s in choices["snapshots"] if s.pk == form.cleaned_data["snapshot"])
        parent = next((a for a in choices["adapters"] if a.pk == form.cleaned_data["parent_adapter"]), None)
        try:
            run = training_services.training_run_create(
                principal=dash.principal, brand=dash.brand, snapshot=snapshot, parent_adapter=parent,
                hyperparameters=form.hyperparameters(),
            )
        except (InvalidInput, LimitExceeded) as exc:
            form_error(form, exc)
        else:
            messages.success(request, f"Training run {run.pk} queued.")
            return redirect("dashboard:training_run", run_id=run.pk)
    return _render_list(request, dash, status=400, form=form)


def _curves(run: TrainingRun) -> dict:
    history = [m for m in (run.metrics or []) if "step" in m]

    def series(key: str, name: str) -> Series:
        return Series(name, [(m["step"], m[key]) for m in history if isinstance(m.get(key), (int, float))])

    return {
        "loss_chart": line_chart([series("loss", "DPO loss")], title="Training loss by step"),
        "accuracy_chart": line_chart(
            [series("reward_accuracy", "train reward accuracy"),
             series("holdout_reward_accuracy", "held-out reward accuracy")],
            title="Reward accuracy by step", y_min=0, y_max=1),
    }


def _run_context(dash: Dash, run: TrainingRun) -> dict:
    percent = round(100 * run.step / run.total_steps) if run.total_steps else 0
    last = run.metrics[-1] if run.metrics else {}
    return page_context(dash, run=run, percent=percent, last=last, **_curves(run))


@require_GET
@dashboard_page
def run_detail(request: HttpRequest, dash: Dash, run_id: int) -> HttpResponse:
    run = training_selectors.training_run_get(principal=dash.principal, run_id=run_id)
    return render(request, "dashboard/training/detail.html", _run_context(dash, run))


@require_GET
@dashboard_page
def run_progress(request: HttpRequest, dash: Dash, run_id: int) -> HttpResponse:
    """The live part of a run's page, polled until the run ends."""
    run = training_selectors.training_run_get(principal=dash.principal, run_id=run_id)
    response = render(request, "dashboard/training/_progress.html", _run_context(dash, run))
    if run.is_terminal:
        response["X-Poll-Done"] = "1"
    return response


@require_POST
@dashboard_page
def run_action(request: HttpRequest, dash: Dash, run_id: int, action: str) -> HttpResponse:
    run = training_selectors.training_run_get(principal=dash.principal, run_id=run_id)
    service = training_services.training_run_cancel if action == "cancel" else training_services.training_run_retry
    try:
        run = service(principal=dash.principal, run=run)
    except InvalidState as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Cancel requested." if action == "cancel" else f"Run {run.pk} queued again.")
    return redirect("dashboard:training_run", run_id=run.pk)


@require_POST
@dashboard_page
def retrain_policy_save(request: HttpRequest, dash: Dash) -> HttpResponse:
    """Create the brand's policy, or update it; the training service keeps the beat schedule in step."""
    form = RetrainPolicyForm(request.POST)
    if form.is_valid():
        values = {**form.cleaned_data, "cron": form.cleaned_data["cron"] or ""}
        policy = retrain_policy_of(dash.principal, dash.brand)
        try:
            if policy is None:
                retrain_policies.retrain_policy_create(principal=dash.principal, brand=dash.brand, values=values)
            else:
                retrain_policies.retrain_policy_update(principal=dash.principal, policy=policy, values=values)
        except (InvalidInput, Conflict) as exc:
            form_error(form, exc)
        else:
            messages.success(request, "Retrain policy saved.")
            return redirect("dashboard:training")
    return _render_list(request, dash, status=400, policy_form=form)


@require_POST
@dashboard_page
def retrain_policy_delete(request: HttpRequest, dash: Dash) -> HttpResponse:
    policy = retrain_policy_of(dash.principal, dash.brand)
    if policy is None:
        raise NotFound("This brand has no retrain policy.")
    retrain_policies.retrain_policy_delete(principal=dash.principal, policy=policy)
    messages.success(request, "Retrain policy deleted: this brand retrains only when someone starts a run.")
    return redirect("dashboard:training")
