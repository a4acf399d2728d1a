"""The brand overview's figures, each read through the owning app's selectors."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from statistics import mean

from prefcontent.adapters import selectors as adapter_selectors
from prefcontent.adapters.models import AdapterVersion
from prefcontent.brands.models import Brand
from prefcontent.brands.settings import brand_settings
from prefcontent.content import selectors as content_selectors
from prefcontent.dashboard.charts import Series, line_chart
from prefcontent.dashboard.retrain import RetrainOutlook, retrain_outlook
from prefcontent.experiments import selectors as experiment_selectors
from prefcontent.experiments.lift import brand_lift_report
from prefcontent.experiments.models import CONCLUDED, PAUSED, RUNNING, STOPPED
from prefcontent.preferences import selectors as preference_selectors
from prefcontent.tenancy.principal import Principal
from prefcontent.training import selectors as training_selectors
from prefcontent.training.models import TrainingRun

ALERTS_PER_KIND = 5
LIFT_EXPERIMENTS = 100


@dataclass(frozen=True)
class Alert:
    """Something on the overview that needs a person."""

    kind: str  # "srm", "rejected_adapter", "failed_run", "lift_below_zero", "lift_decay" or "holdout_srm"
    message: str  # what happened, for people
    url: str  # where to look


@dataclass
class Overview:
    """Everything the overview page shows about one brand."""

    active: AdapterVersion | None  # the adapter generation uses now
    last_run: TrainingRun | None  # the newest training run
    pairs_since_last_run: int  # usable pairs created after the newest run started (all, with no run)
    retrain: RetrainOutlook  # the retrain policy and when it next fires
    alerts: list[Alert] = field(default_factory=list)  # SRM, rejected adapters, failed runs
    lift_chart: str = ""  # SVG: lift of generated variants over control, per decided experiment
    lift_points: int = 0  # experiments in the lift chart
    simulation_rounds: list = field(default_factory=list)  # `manage.py simulate` history of this brand
    simulation_chart: str = ""  # SVG: true CTR by simulated round


def _alerts(principal: Principal, brand: Brand) -> list[Alert]:
    alerts = []
    live = (experiment_selectors.experiment_list(principal=principal)
            .filter(brand=brand, status__in=[RUNNING, PAUSED]).only("id", "name", "last_analysis"))
    for experiment in live:
        analysis = (experiment.last_analysis or {}).get("analysis", {})
        if analysis.get("srm_flag"):
            alerts.append(Alert("srm", f"Sample-ratio mismatch in “{experiment.name}” "
                                       f"(p = {analysis.get('srm_p_value', 0):.2g})",
                                f"/dashboard/experiments/{experiment.pk}/"))
    lift = brand_lift_report(principal=principal, brand_id=brand.pk)
    for found in lift["alerts"]:
        alerts.append(Alert(f"lift_{found['kind']}", f"{found['channel'].capitalize()}: {found['message']}",
                            "/dashboard/lift/"))
    if lift["holdout_check"]["srm_flag"]:
        check = lift["holdout_check"]
        alerts.append(Alert("holdout_srm", f"Holdout share off plan: {check['held_out']} of {check['assigned']} "
                                           f"readers held out (p = {check['srm_p_value']:.2g})", "/dashboard/lift/"))
    rejected = (adapter_selectors.adapter_list(principal=principal)
                .filter(brand=brand, status=AdapterVersion.Status.REJECTED).order_by("-created_at")[:ALERTS_PER_KIND])
    for adapter in rejected:
        reasons = "; ".join((adapter.eval_report or {}).get("reasons", [])[:2])
        alerts.append(Alert("rejected_adapter", f"Adapter v{adapter.version} rejected by the gate: {reasons}",
                            f"/dashboard/adapters/{adapter.pk}/"))
    failed = (training_selectors.training_run_list(principal=principal, brand_id=brand.pk)
              .filter(state=TrainingRun.State.FAILED).order_by("-id")[:ALERTS_PER_KIND])
    for run in failed:
        alerts.append(Alert("failed_run", f"Training run #{run.pk} failed: {run.error[:160]}",
                            f"/dashboard/training/{run.pk}/"))
    return alerts


def _simulation(brand: Brand) -> tuple[list, str]:
    """The closed-loop simulation's rounds for this brand (written by `manage.py simulate`), if any."""
    rounds = brand_settings(brand).simulation_history
    if not rounds:
        return [], ""
    series = [Series("true CTR", [(r["round"], r["true_ctr"]) for r in rounds])]
    return rounds, line_chart(series, title="Simulated true CTR by round", y_min=0)


def _lift_chart(principal: Principal, brand: Brand) -> tuple[str, int]:
    """Mean lift over control of the generated variants of each decided experiment, by decision time."""
    decided = list(experiment_selectors.experiment_list(principal=principal)
                   .filter(brand=brand, status__in=[CONCLUDED, STOPPED], decision__isnull=False)
                   .select_related("decision").order_by("-ended_at")[:LIFT_EXPERIMENTS])
    variant_ids = {c["variant_id"] for e in decided for c in e.decision.evidence.get("counts", {}).values()}
    generated = set(content_selectors.variant_list(principal=principal)
                    .filter(pk__in=variant_ids, source="generated").values_list("pk", flat=True))
    points = []
    for experiment in decided:
        evidence = experiment.decision.evidence
        counts = evidence.get("counts", {})
        lifts = [arm["lift_vs_control"] for arm in evidence.get("analysis", {}).get("arms", [])
                 if arm.get("lift_vs_control") is not None
                 and counts.get(arm["arm_id"], {}).get("variant_id") in generated]
        if lifts:
            points.append((experiment.decision.decided_at.timestamp(), mean(lifts)))
    points.sort()
    chart = line_chart([Series("generated vs control", points)], title="Lift of generated variants over control",
                       x_format=lambda v: datetime.fromtimestamp(v, tz=UTC).strftime("%m-%d"),
                       y_format=lambda v: f"{v:+.0%}")
    return chart, len(points)


def overview_for(*, principal: Principal, brand: Brand) -> Overview:
    runs = training_selectors.training_run_list(principal=principal, brand_id=brand.pk)
    last_run = runs.order_by("-created_at").first()
    since = last_run.created_at if last_run else None
    pairs = preference_selectors.pairs_usable_since(brand, since)
    chart, points = _lift_chart(principal, brand)
    rounds, sim_chart = _simulation(brand)
    return Overview(
        simulation_rounds=rounds, simulation_chart=sim_chart,
        active=adapter_selectors.adapter_active_for(brand), last_run=last_run, pairs_since_last_run=pairs,
        retrain=retrain_outlook(principal=principal, brand=brand, pairs_since_last_run=pairs),
        alerts=_alerts(principal, brand), lift_chart=chart, lift_points=points,
    )
