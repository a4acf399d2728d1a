from prefcontent.training.models import TrainingRun
from tests.prefcontent.training.factories import make_snapshot
from tests.tenancy import RouteCase


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
