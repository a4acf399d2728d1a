from prefcontent.training.models import TrainingRun
from tests.prefcontent.training.factories import make_snapshot
from tests.tenancy import RouteCase, ServiceCase


def _snapshot_a(w):
    if "snapshot" not in w.extra:
        w.extra["snapshot"] = make_snapshot(w.brand_a, train=2, holdout=5)
    return w.extra["snapshot"]


def _run_a(w, state=TrainingRun.State.RUNNING):
    key = f"run-{state}"
    if key not in w.extra:
        w.extra[key] = TrainingRun.objects.create(brand=w.brand_a, snapshot=_snapshot_a(w), base_model_id="m",
                                                  state=state)
    return w.extra[key].pk


ROUTES = {
    "training-run-list": RouteCase(hidden_ids=lambda w: {_run_a(w)},
                                   body=lambda w: {"brand": w.brand_a.pk, "snapshot": _snapshot_a(w).pk}),
    "training-run-detail": RouteCase(kwargs=lambda w: {"pk": _run_a(w)}),
    "training-run-cancel": RouteCase(kwargs=lambda w: {"pk": _run_a(w)}),
    "training-run-retry": RouteCase(kwargs=lambda w: {"pk": _run_a(w, TrainingRun.State.FAILED)}),
}


def _policy_a(w):
    from prefcontent.training.models import RetrainPolicy

    if "policy" not in w.extra:
        w.extra["policy"] = RetrainPolicy.objects.create(brand=w.brand_a, threshold_pairs=10)
    return w.extra["policy"].pk


ROUTES.update({
    "retrain-policy-list": RouteCase(hidden_ids=lambda w: {_policy_a(w)},
                                     body=lambda w: {"brand": w.brand_a.pk, "threshold_pairs": 5}),
    "retrain-policy-detail": RouteCase(kwargs=lambda w: {"pk": _policy_a(w)}, body=lambda w: {"threshold_pairs": 3}),
    "training-run-requeue": RouteCase(kwargs=lambda w: {"pk": _run_a(w)}),
    # Cross-brand counts, not rows: B's owner gets B's queue (checked in test_ops_api), never A's runs.
    "ops-queue": RouteCase(hidden_ids=lambda w: {_run_a(w)}),
})


def _run_row_a(w, state=TrainingRun.State.RUNNING):
    _run_a(w, state)
    return w.extra[f"run-{state}"]


def _policy_row_a(w):
    _policy_a(w)
    return w.extra["policy"]


_SERVICES = "prefcontent.training.services."
_POLICIES = "prefcontent.training.policies."
SERVICES = {
    _SERVICES + "training_run_create": ServiceCase("training.write", lambda w: {
        "brand": w.brand_a, "snapshot": _snapshot_a(w), "enqueue": False}),
    _SERVICES + "training_run_cancel": ServiceCase("training.write", lambda w: {"run": _run_row_a(w)}),
    _SERVICES + "training_run_retry": ServiceCase("training.write", lambda w: {
        "run": _run_row_a(w, TrainingRun.State.FAILED)}),
    "prefcontent.training.ops.training_run_requeue": ServiceCase("ops.repair", lambda w: {"run": _run_row_a(w)}),
    _POLICIES + "retrain_policy_create": ServiceCase("training.write", lambda w: {
        "brand": w.brand_a, "values": {"threshold_pairs": 5}}),
    _POLICIES + "retrain_policy_update": ServiceCase("training.write", lambda w: {
        "policy": _policy_row_a(w), "values": {"threshold_pairs": 3}}),
    _POLICIES + "retrain_policy_delete": ServiceCase("training.write", lambda w: {"policy": _policy_row_a(w)}),
}
UNCHECKED = {
    _SERVICES + "training_run_enqueue": "sends a run the checked create (or the reaper) stored",
    _SERVICES + "training_runs_reap": "beat: requeues runs whose lease expired",
    _POLICIES + "max_concurrent_runs": "pure: a knob",
    _POLICIES + "retrain_policy_validate": "pure: validates a policy's fields",
    _POLICIES + "retrain_policy_sync": "called by the checked create and update, on the saved policy",
    _POLICIES + "retrain_policy_delete_schedule": "called by the checked policy and brand deletes",
    _POLICIES + "retrain_policy_fire": "beat: the policy's own cron schedule fired",
    _POLICIES + "retrain_policies_evaluate": "beat: starts due runs as SYSTEM",
    "prefcontent.training.ops.ops_brand_ids": "a read: the brands where the principal holds ops.read (403 if none)",
    "prefcontent.training.ops.ops_queue": "a read: queue counts over ops_brand_ids",
}
