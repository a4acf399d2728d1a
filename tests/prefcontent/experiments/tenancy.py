from django.utils import timezone

from tests.prefcontent.content.factories import VariantFactory
from tests.prefcontent.experiments.factories import make_experiment
from tests.tenancy import RouteCase


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
}
