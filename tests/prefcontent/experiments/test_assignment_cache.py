"""Assignment on cached keys and arms: one query a page view, writes in this process seen at once,
another process's within HOT_CACHE_SECONDS."""
from __future__ import annotations

from django.db import connection
from django.utils import timezone

from prefcontent.accounts.models import ApiKey
from prefcontent.core import hot_cache
from prefcontent.experiments.models import Arm, Assignment
from tests.conftest import client_for_key
from tests.prefcontent.experiments.factories import make_experiment


def _assign(client, experiment, unit):
    return client.get(f"/api/v1/experiments/{experiment.pk}/assign?unit_id={unit}")


def test_a_warm_page_view_makes_one_query(brand, make_key, django_assert_num_queries):
    client = client_for_key(make_key(brand, scopes=["assign"]))
    experiment = make_experiment(brand)
    assert _assign(client, experiment, "warm-up").status_code == 200
    with django_assert_num_queries(1):  # the insert-or-read of the unit's assignment
        assert _assign(client, experiment, "new-reader").json()["sticky"] is True
    # A returning reader: one statement on PostgreSQL; SQLite has no INSERT in a CTE, so it reads after the insert.
    with django_assert_num_queries(1 if connection.vendor == "postgresql" else 2):
        assert _assign(client, experiment, "new-reader").json()["sticky"] is True
    assert Assignment.objects.filter(experiment=experiment).count() == 2


def test_a_pause_through_the_api_stops_new_assignments_at_once(brand, make_key, owner_client):
    client = client_for_key(make_key(brand, scopes=["assign"]))
    experiment = make_experiment(brand)
    assert _assign(client, experiment, "before").json()["status"] == "running"
    assert owner_client.post(f"/api/v1/experiments/{experiment.pk}/pause/").status_code == 200
    after = _assign(client, experiment, "after").json()
    assert after["status"] == "paused" and after["sticky"] is False
    assert Assignment.objects.filter(experiment=experiment).count() == 1  # only the reader before the pause


def test_another_process_s_writes_are_seen_once_the_entries_expire(brand, make_key, settings, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(hot_cache.time, "monotonic", lambda: now[0])
    settings.HOT_CACHE_SECONDS = 2.0
    plaintext = make_key(brand, scopes=["assign"])
    client = client_for_key(plaintext)
    experiment = make_experiment(brand, weights=[1.0, 0.0])
    control, treatment = experiment.arms.order_by("id")
    assert _assign(client, experiment, "u1").json()["arm"] == control.pk
    # Another process moves every new reader to the treatment and revokes the key: rows this process has cached.
    Arm.objects.filter(pk=control.pk).update(weight=0.0)
    Arm.objects.filter(pk=treatment.pk).update(weight=1.0)
    ApiKey.objects.filter(prefix=plaintext.split("_")[1]).update(revoked_at=timezone.now())
    assert _assign(client, experiment, "u2").json()["arm"] == control.pk  # within the TTL: the cached rows
    now[0] += 2.1
    refused = _assign(client, experiment, "u3")
    assert refused.status_code == 401 and "revoked" in refused.json()["error"]["message"]
    fresh = client_for_key(make_key(brand, scopes=["assign"]))
    assert _assign(fresh, experiment, "u4").json()["arm"] == treatment.pk
