import threading
from collections import Counter

import pytest
from django.db import connection

from prefcontent.experiments.allocation import bucket, pick_arm
from prefcontent.experiments.assignment import assignment_cache_drop, assignment_for_unit
from prefcontent.experiments.decisions import experiment_update_thompson_weights
from prefcontent.experiments.models import Assignment, Decision
from prefcontent.experiments.units import unit_hash
from prefcontent.tenancy.principal import SYSTEM
from tests.conftest import client_for_key
from tests.factories import BrandFactory
from tests.prefcontent.experiments.factories import make_experiment


def _assign(client, experiment, unit):
    return client.get(f"/api/v1/experiments/{experiment.pk}/assign?unit_id={unit}")


@pytest.mark.smoke
def test_assign_returns_arm_and_text_and_is_sticky_across_weight_changes(brand, make_key):
    client = client_for_key(make_key(brand, scopes=["assign"]))
    experiment = make_experiment(brand, weights=[0.5, 0.5])
    units = [f"visitor-{i}" for i in range(60)]
    first = {}
    for unit in units:
        response = _assign(client, experiment, unit)
        assert response.status_code == 200, response.content
        body = response.json()
        arm = experiment.arms.get(pk=body["arm"])
        assert body["variant"] == arm.variant_id and body["text"] == arm.variant.text and body["sticky"]
        first[unit] = body["arm"]
    assert len(set(first.values())) == 2  # both arms in use
    control, treatment = experiment.arms.order_by("id")
    control.weight, treatment.weight = 0.0, 1.0  # everyone new goes to the treatment
    control.save(), treatment.save()
    assignment_cache_drop(experiment.pk)  # a direct write: seen once the cached rows expire, as from another process
    assert all(_assign(client, experiment, u).json()["arm"] == first[u] for u in units)
    assert _assign(client, experiment, "brand-new").json()["arm"] == treatment.pk
    assert Assignment.objects.filter(experiment=experiment).count() == 61


def test_units_are_stored_hashed_per_brand(brand, make_key):
    experiment = make_experiment(brand)
    client_for_key(make_key(brand, scopes=["assign"])).post(
        f"/api/v1/experiments/{experiment.pk}/assign", {"unit_id": "alice@example.com"}, format="json")
    stored = Assignment.objects.get(experiment=experiment).unit_hash
    assert "alice" not in stored and len(stored) == 64
    assert stored == unit_hash(brand.pk, "alice@example.com")
    assert stored != unit_hash(BrandFactory().pk, "alice@example.com")


def test_deterministic_split_follows_weights():
    arms = [(1, 0.2), (2, 0.8)]
    picks = Counter(pick_arm(arms, bucket(7, unit_hash(1, f"u{i}"))) for i in range(4000))
    assert 0.17 < picks[1] / 4000 < 0.23
    assert pick_arm(arms, bucket(7, "x")) == pick_arm(arms, bucket(7, "x"))


def test_scope_and_state_rules(brand, make_key):
    experiment = make_experiment(brand, status="draft")
    no_scope = client_for_key(make_key(brand, scopes=["events:write"]))
    refused = _assign(no_scope, experiment, "u1")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "missing_scope"
    client = client_for_key(make_key(brand, scopes=["assign"]))
    assert _assign(client, experiment, "u1").status_code == 409
    running = make_experiment(brand)
    missing = client.get(f"/api/v1/experiments/{running.pk}/assign")
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "invalid_unit_id"
    assert _assign(client, make_experiment(BrandFactory()), "u1").status_code == 404
    assert _assign(client, running, "x" * 201).status_code == 400


def test_paused_keeps_stored_arms_and_concluded_serves_the_winner(brand, make_key):
    client = client_for_key(make_key(brand, scopes=["assign"]))
    experiment = make_experiment(brand, weights=[0.0, 1.0])
    control, treatment = experiment.arms.order_by("id")
    assert _assign(client, experiment, "old").json()["arm"] == treatment.pk
    experiment.status = "paused"
    experiment.save()
    assignment_cache_drop(experiment.pk)  # direct writes, as from another process once the cache expires
    assert _assign(client, experiment, "old").json()["arm"] == treatment.pk
    newcomer = _assign(client, experiment, "new").json()
    assert newcomer["arm"] == control.pk and newcomer["sticky"] is False
    experiment.status = "concluded"
    experiment.save()
    Decision.objects.create(experiment=experiment, outcome="winner", winner_arm=treatment, evidence={})
    assignment_cache_drop(experiment.pk)
    assert _assign(client, experiment, "new").json()["arm"] == treatment.pk
    assert Assignment.objects.filter(experiment=experiment).count() == 1  # nothing stored outside running


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_requests_agree_on_one_arm():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")
    experiment = make_experiment(BrandFactory())
    results, barrier = [], threading.Barrier(6)

    def worker():
        try:
            barrier.wait()
            results.append(assignment_for_unit(principal=SYSTEM, experiment_id=experiment.pk,
                                              unit_id="same-visitor").arm_id)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(results) == 6 and len(set(results)) == 1
    assert Assignment.objects.filter(experiment=experiment).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_new_assignment_alone_commits_without_waiting_for_the_flush(settings):
    """Only the assignment's own transaction: the session, and a caller's transaction, keep synchronous commit."""
    from django.db import transaction
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "postgresql":
        pytest.skip("synchronous_commit is PostgreSQL's")
    experiment = make_experiment(BrandFactory())

    def assign(unit: str) -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            assignment_for_unit(principal=SYSTEM, experiment_id=experiment.pk, unit_id=unit)
        return [q["sql"] for q in queries.captured_queries]

    assert "SET LOCAL synchronous_commit TO OFF" in assign("first")
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"
    with transaction.atomic():  # a caller's transaction (its writes may be events): left as it is
        assert "SET LOCAL synchronous_commit TO OFF" not in assign("second")
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone()[0] == "on"
    settings.ASSIGNMENT_ASYNC_COMMIT = False
    assert "SET LOCAL synchronous_commit TO OFF" not in assign("third")
    assert Assignment.objects.filter(experiment=experiment).count() == 3


def test_thompson_weights_warm_up_then_follow_the_posterior(brand):
    experiment = make_experiment(brand, arms=3, allocation="thompson", thompson_floor=0.05, thompson_warmup=100)
    arms = list(experiment.arms.order_by("id"))
    for arm, (n, clicks) in zip(arms, [(50, 5), (1000, 100), (1000, 200)], strict=True):
        arm.impressions, arm.clicks = n, clicks
        arm.save()
    weights = experiment_update_thompson_weights(experiment=experiment)
    assert all(w == pytest.approx(1 / 3) for w in weights.values())  # one arm still warming up
    arms[0].impressions, arms[0].clicks = 1000, 90
    arms[0].save()
    weights = experiment_update_thompson_weights(experiment=experiment)
    assert sum(weights.values()) == pytest.approx(1.0)
    assert weights[arms[2].pk] > 0.85 and min(weights.values()) >= 0.05 - 1e-9
    arms[2].refresh_from_db()
    assert arms[2].weight == pytest.approx(weights[arms[2].pk])
    experiment.refresh_from_db()
    assert experiment.weights_updated_at is not None


def test_rotating_secret_key_keeps_every_visitors_arm(brand, make_key, settings):
    """Unit hashes are keyed on UNIT_HASH_KEY: a SECRET_KEY rotation neither re-assigns nor re-hashes anyone."""
    experiment = make_experiment(brand, arms=4)
    client = client_for_key(make_key(brand, scopes=["assign"]))
    units = [f"visitor-{i}" for i in range(12)]
    first = {u: _assign(client, experiment, u).json()["arm"] for u in units}
    hashes = set(Assignment.objects.values_list("unit_hash", flat=True))
    settings.SECRET_KEY = "a-rotated-secret-key-" + "x" * 40
    assert {u: _assign(client, experiment, u).json()["arm"] for u in units} == first
    assert Assignment.objects.count() == len(units) and set(Assignment.objects.values_list("unit_hash", flat=True)) == hashes


def test_upgrading_with_unit_hash_key_set_to_the_old_secret_key_keeps_the_old_hashes(brand, settings):
    """The migration path: hashes made when the key was SECRET_KEY are the same with UNIT_HASH_KEY = that value."""
    import hashlib
    import hmac

    old_secret = "the-secret-key-of-an-existing-install-" + "y" * 30
    brand_key = hmac.new(old_secret.encode(), f"unit-hash:{brand.pk}".encode(), hashlib.sha256).digest()
    made_before = hmac.new(brand_key, b"alice", hashlib.sha256).hexdigest()  # the pre-upgrade derivation
    settings.UNIT_HASH_KEY, settings.SECRET_KEY = old_secret, "rotated-" + "z" * 50
    assert unit_hash(brand.pk, "alice") == made_before
    settings.UNIT_HASH_KEY = "another-key-" + "k" * 30
    assert unit_hash(brand.pk, "alice") != made_before
