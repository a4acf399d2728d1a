from prefcontent.preferences.building import pairs_build
from prefcontent.preferences.models import PreferencePair
from prefcontent.preferences.snapshots import snapshot_create
from prefcontent.tenancy.principal import SYSTEM
from tests.prefcontent.preferences.factories import clear_win
from tests.tenancy import RouteCase, ServiceCase


def _experiment_a(w) -> int:
    return clear_win(w.brand_a).pk


def _pair_a(w) -> int:
    experiment_id = _experiment_a(w)
    pairs_build(experiment_ids=[experiment_id])
    return PreferencePair.objects.get(experiment_id=experiment_id).pk


def _snapshot_a(w) -> int:
    _pair_a(w)
    return snapshot_create(principal=SYSTEM, brand=w.brand_a, holdout_fraction=0.0).pk


ROUTES = {
    "preference-pair-list": RouteCase(hidden_ids=lambda w: {_pair_a(w)}),
    "preference-pair-detail": RouteCase(kwargs=lambda w: {"pk": _pair_a(w)}),
    "preference-pair-build": RouteCase(body=lambda w: {"experiment": _experiment_a(w)}),
    "preference-report": RouteCase(kwargs=lambda w: {"brand_id": w.brand_a.pk}),
    "dataset-snapshot-list": RouteCase(hidden_ids=lambda w: {_snapshot_a(w)}, body=lambda w: {"brand": w.brand_a.pk}),
    "dataset-snapshot-detail": RouteCase(kwargs=lambda w: {"pk": _snapshot_a(w)}),
    "dataset-snapshot-export": RouteCase(kwargs=lambda w: {"pk": _snapshot_a(w)}),
    "history-import": RouteCase(kwargs=lambda w: {"brand_id": w.brand_a.pk},
                                body=lambda w: {"test_id": "t1"}),
}


HISTORY = (b"test_id,variant_text,impressions,clicks,conversions\n"
           b"t1,Save 20% on yoga mats.,5000,150,0\nt1,Ready for better mornings?,5000,260,0\n")


def _pairs_of_a(w):
    _pair_a(w)
    return w.brand_a


SERVICES = {
    "prefcontent.preferences.services.pairs_build_on_demand": ServiceCase("experiments.write", lambda w: {
        "experiment": clear_win(w.brand_a)}),
    "prefcontent.preferences.snapshots.snapshot_create": ServiceCase("training.write", lambda w: {
        "brand": _pairs_of_a(w), "holdout_fraction": 0.0}),
    "prefcontent.preferences.history_import.history_import": ServiceCase("experiments.write", lambda w: {
        "brand": w.brand_a, "data": HISTORY, "filename": "history.csv", "min_sample_per_arm": 100}),
}
UNCHECKED = {
    "prefcontent.preferences.services.pairs_build_pending": "beat: builds pairs for winners whose build task was lost",
    "prefcontent.preferences.snapshots.split_for": "pure: the deterministic train/holdout split",
}
