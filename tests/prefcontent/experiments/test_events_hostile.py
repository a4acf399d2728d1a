"""Issue #23 findings 1, 7, 9 and 12: one bad event never costs the good ones, and Redis is not needed."""
from __future__ import annotations

import pytest
from django.utils import timezone

from prefcontent.experiments.models import Event
from tests.conftest import client_for_key
from tests.hostile import assert_error_shape, send
from tests.prefcontent.experiments.factories import make_experiment


def ev(experiment, arm, event_id, **extra):
    return {"event_id": event_id, "experiment": experiment.pk, "arm": arm.pk, "type": "impression",
            "unit_id": "u1", "timestamp": timezone.now().isoformat(), **extra}


@pytest.fixture
def setup(brand, make_key):
    experiment = make_experiment(brand)
    control, treatment = experiment.arms.order_by("id")
    return experiment, control, treatment, client_for_key(make_key(brand, scopes=["events:write", "assign"]))


BAD_FIELDS = [
    ({"arm": "²"}, "invalid_arm"),
    ({"experiment": "²"}, "invalid_experiment"),
    ({"variant": "²", "arm": None}, "invalid_variant"),
    ({"arm": 10**20}, "invalid_arm"),
    ({"experiment": "99999999999999999999"}, "invalid_experiment"),
    ({"unit_id": "a\ud800b"}, "invalid_unit_id"),
    ({"unit_id": "a\x00b"}, "invalid_unit_id"),
    ({"event_id": "abc\n"}, "invalid_event_id"),
    ({"event_id": "abc\x00"}, "invalid_event_id"),
]


@pytest.mark.parametrize(("bad", "code"), BAD_FIELDS)
def test_a_bad_event_is_rejected_alone_and_the_good_ones_are_stored(setup, bad, code):
    experiment, control, treatment, client = setup
    batch = [ev(experiment, control, "good-1"), {**ev(experiment, treatment, "bad-1"), **bad},
             ev(experiment, treatment, "good-2", unit_id="u2")]
    response = send(client, "post", "/api/v1/events", {"events": batch})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["accepted"] == 2
    assert [(r["index"], r["error"]["code"]) for r in body["rejected"]] == [(1, code)]
    assert set(Event.objects.values_list("event_id", flat=True)) == {"good-1", "good-2"}
    control.refresh_from_db()
    treatment.refresh_from_db()
    assert (control.impressions, treatment.impressions) == (1, 1)


def test_a_batch_of_only_bad_events_is_a_400_listing_each(setup):
    experiment, control, _, client = setup
    batch = [{**ev(experiment, control, "x"), "unit_id": "\ud800"}, {**ev(experiment, control, "y"), "arm": "²"}]
    error = assert_error_shape(send(client, "post", "/api/v1/events", {"events": batch}), 400, "invalid_events")
    assert [r["error"]["code"] for r in error["details"]["rejected"]] == ["invalid_unit_id", "invalid_arm"]


@pytest.mark.parametrize("unit_id", ["a\ud800b", "a\x00b"])
def test_assign_refuses_a_unit_id_that_cannot_be_hashed_or_stored(setup, unit_id):
    experiment, _, _, client = setup
    url = f"/api/v1/experiments/{experiment.pk}/assign"
    # The parser refuses it in a JSON body (invalid_text); the service refuses it from a query string.
    error = assert_error_shape(send(client, "post", url, {"unit_id": unit_id}), 400)
    assert error["code"] in {"invalid_text", "invalid_unit_id"}
    if "\x00" in unit_id:  # a query string cannot carry a lone surrogate (Django decodes it with replacement)
        assert assert_error_shape(client.get(url, {"unit_id": unit_id}), 400)["code"] == "invalid_text"


def test_assign_refuses_a_body_that_is_not_an_object(setup):
    experiment, _, _, client = setup
    assert_error_shape(send(client, "post", f"/api/v1/experiments/{experiment.pk}/assign", [1, 2]), 400,
                       "invalid_body")


@pytest.mark.parametrize("weights", [[1e308, 1e308], [1e7, 1], [-1, 2]])
def test_arm_weights_out_of_range_are_refused_on_create(owner_client, brand, weights):
    from tests.prefcontent.content.factories import VariantFactory

    variants = [VariantFactory(brand=brand) for _ in weights]
    body = {"brand": brand.pk, "name": "weights", "allocation": "fixed",
            "arms": [{"variant": v.pk, "is_control": i == 0, "weight": w}
                     for i, (v, w) in enumerate(zip(variants, weights, strict=True))]}
    error = assert_error_shape(send(owner_client, "post", "/api/v1/experiments/", body), 400)
    assert "weight" in str(error["details"])


def test_arm_weights_out_of_range_are_refused_on_update(owner_client, brand):
    experiment = make_experiment(brand, status="draft")
    arms = list(experiment.arms.order_by("id"))
    body = {"arms": [{"id": a.pk, "weight": 1e308} for a in arms]}
    assert_error_shape(send(owner_client, "post", f"/api/v1/experiments/{experiment.pk}/weights/", body), 400)
    assert [a.weight for a in experiment.arms.order_by("id")] == [a.weight for a in arms]


DEAD_REDIS = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": "redis://127.0.0.1:9/0",  # the discard port: nothing listens
                          "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}}}


@pytest.fixture
def redis_down(settings):
    settings.CACHES = DEAD_REDIS  # Django's setting_changed handler drops the cached connections


def test_events_are_accepted_while_the_cache_is_down(setup, redis_down):
    from django.core.cache import cache

    with pytest.raises(Exception):  # noqa: B017, PT011 - the cache really is unreachable
        cache.get("anything")
    experiment, control, _, client = setup
    response = send(client, "post", "/api/v1/events", {"events": [ev(experiment, control, "while-down")]})
    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 1
    assert Event.objects.filter(event_id="while-down").exists()


def test_other_routes_fail_open_while_the_cache_is_down(setup, redis_down, owner_client, brand):
    assert owner_client.get(f"/api/v1/brands/{brand.pk}/").status_code == 200
    experiment, _, _, client = setup
    response = client.get(f"/api/v1/experiments/{experiment.pk}/assign?unit_id=u1")
    assert response.status_code == 200, response.content
