from django.utils import timezone

from tests.prefcontent.content.factories import VariantFactory
from tests.prefcontent.experiments.factories import make_experiment
from tests.tenancy import RouteCase, ServiceCase


def _running(w):
    return w.extra.setdefault("running", make_experiment(w.brand_a, status="running"))


def _draft(w):
    return w.extra.setdefault("draft", make_experiment(w.brand_a, status="draft"))


def _paused(w):
    return w.extra.setdefault("paused", make_experiment(w.brand_a, status="paused"))


def _create_body(w):
    a, b = VariantFactory(brand=w.brand_a), VariantFactory(brand=w.brand_a)
    return {"brand": w.brand_a.pk, "name": "New", "arms": [{"variant": a.pk, "is_control": True},
                                                           {"variant": b.pk}]}


def _event_body(w):
    experiment = _running(w)
    return {"events": [{"event_id": "ev-1", "experiment": experiment.pk, "arm": experiment.arms.first().pk,
                        "type": "impression", "unit_id": "u1", "timestamp": timezone.now().isoformat()}]}


def _detail(getter):
    return lambda w: {"pk": getter(w).pk}


ROUTES = {
    "brand-visitor-erase": RouteCase(kwargs=lambda w: {"brand_id": w.brand_a.pk}, body=lambda w: {"unit_id": "u1"}),
    "experiment-list": RouteCase(hidden_ids=lambda w: {_running(w).pk}, body=_create_body),
    "experiment-detail": RouteCase(kwargs=_detail(_draft), body=lambda w: {"name": "Renamed"}),
    "experiment-start": RouteCase(kwargs=_detail(_draft)),
    "experiment-pause": RouteCase(kwargs=_detail(_running)),
    "experiment-resume": RouteCase(kwargs=_detail(_paused)),
    "experiment-stop": RouteCase(kwargs=_detail(_running)),
    "experiment-decide": RouteCase(kwargs=_detail(_running)),
    "experiment-results": RouteCase(kwargs=_detail(_running)),
    "experiment-weights": RouteCase(
        kwargs=_detail(_running),
        body=lambda w: {"arms": [{"id": arm.pk, "weight": 1.0} for arm in _running(w).arms.all()]},
    ),
    "experiment-assign": RouteCase(kwargs=_detail(_running), body=lambda w: {"unit_id": "visitor-1"}),
    "event-ingest": RouteCase(body=_event_body),
    "experiments-snippet": RouteCase(public=True),
    "brand-lift": RouteCase(kwargs=lambda w: {"brand_id": w.brand_a.pk}),
}


def _arm_specs(w):
    from prefcontent.experiments.services import ArmSpec

    return [ArmSpec(variant=VariantFactory(brand=w.brand_a), is_control=True),
            ArmSpec(variant=VariantFactory(brand=w.brand_a))]


def _every_event_unknown(result) -> bool:
    return result.accepted == 0 and {r["error"]["code"] for r in result.rejected} == {"unknown_experiment"}


_SERVICES = "prefcontent.experiments.services."
_DECISIONS = "prefcontent.experiments.decisions."
SERVICES = {
    _SERVICES + "experiment_create": ServiceCase("experiments.write", lambda w: {
        "brand": w.brand_a, "name": "New", "arms": _arm_specs(w)}),
    _SERVICES + "experiment_update": ServiceCase("experiments.write", lambda w: {"experiment": _draft(w), "name": "New"}),
    _SERVICES + "experiment_delete": ServiceCase("experiments.write", lambda w: {"experiment": _draft(w)}),
    _SERVICES + "experiment_transition": ServiceCase("experiments.write", lambda w: {
        "experiment": _draft(w), "action": "start"}),
    _SERVICES + "experiment_set_weights": ServiceCase("experiments.write", lambda w: {
        "experiment": _running(w), "weights": {arm.pk: 1.0 for arm in _running(w).arms.all()}}),
    _DECISIONS + "experiment_decide": ServiceCase("experiments.write", lambda w: {"experiment": _running(w)}),
    _DECISIONS + "experiment_stop": ServiceCase("experiments.write", lambda w: {"experiment": _running(w)}),
    "prefcontent.experiments.assignment.assignment_for_unit": ServiceCase("assign", lambda w: {
        "experiment_id": _running(w).pk, "unit_id": "visitor-1"}),
    "prefcontent.experiments.ingestion.events_ingest": ServiceCase(
        "events.write", lambda w: {"events": _event_body(w)["events"]}, not_found_in=_every_event_unknown),
}
SERVICES["prefcontent.experiments.visitor_erasure.visitor_erase"] = ServiceCase(
    "brands.manage", lambda w: {"brand": w.brand_a, "unit_id": "u1"})
UNCHECKED = {
    "prefcontent.experiments.assignment.assignment_cache_drop": "forgets this process's cached rows; the writes "
                                                                "that call it check access",
    _DECISIONS + "experiment_evaluate": "a read: the analysis of the current counters",
    _DECISIONS + "experiment_latest_evidence": "a read: the stored analysis, or experiment_evaluate when counters moved",
    _DECISIONS + "experiments_decide_running": "beat: plans the pass and sends its chunks (SYSTEM)",
    _DECISIONS + "experiments_decide_plan": "a read: which running experiments the pass decides, in what order",
    _DECISIONS + "experiments_decide_chunk": "a task: decides the given experiments as SYSTEM",
    _DECISIONS + "experiment_update_thompson_weights": "beat: recomputes weights from the posteriors",
    _DECISIONS + "experiments_update_thompson_weights": "beat: every running Thompson experiment",
    "prefcontent.experiments.lift.brand_lift_report": "a read: the brand through brands.selectors.brand_get "
                                                      "(404 for another tenant), then its lift report",
    "prefcontent.experiments.lift.lift_report_for_brand": "a read of a brand its caller already holds (export, "
                                                          "simulation)",
    "prefcontent.experiments.lift.lift_window": "parses query parameters; touches no rows",
}
