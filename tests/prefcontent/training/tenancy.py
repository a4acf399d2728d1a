from prefcontent.training.models import TrainingRun
from tests.prefcontent.training.factories import make_snapshot
from tests.tenancy import RouteCase


def _snapshot_a(w):
    if "snapshot" not in w.extra:
        w.extra["snapshot"] = make_snapshot(w.brand_a, train=2, holdout=1)
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
