"""Decisions that stay true when watched: through the API, decided after every batch of events."""
import numpy as np
import pytest
from django.utils import timezone

from prefcontent.experiments.models import Assignment
from tests.conftest import client_for_key
from tests.prefcontent.experiments.factories import make_experiment


@pytest.fixture
def sent(monkeypatch):
    from prefcontent.celery import app

    monkeypatch.setattr(app, "send_task", lambda name, args, **options: None)


def _send_readers(client, experiment, arm, rng, *, readers: int, ctr: float, start: int) -> None:
    """`readers` new readers on `arm`: 1 + Poisson(1) impressions each, each a click with `ctr`."""
    now = timezone.now().isoformat()
    events = []
    for unit in range(start, start + readers):
        views = 1 + int(rng.poisson(1))
        kinds = ["impression"] * views + ["click"] * int(rng.binomial(views, ctr))
        events += [{"event_id": f"{experiment.pk}-{unit}-{i}", "experiment": experiment.pk, "arm": arm.pk,
                    "type": kind, "unit_id": f"reader-{unit}", "timestamp": now} for i, kind in enumerate(kinds)]
    for begin in range(0, len(events), 1000):
        response = client.post("/api/v1/events", {"events": events[begin:begin + 1000]}, format="json")
        assert response.status_code == 200 and not response.json()["rejected"], response.json()


def _watch(owner_client, key_client, experiment, rng, *, ctrs, looks: int, readers_per_look: int) -> dict:
    """Decide after every batch; the body of the call that concluded it, or the last one."""
    arms = list(experiment.arms.order_by("id"))
    body = None
    for look in range(looks):
        for arm, ctr in zip(arms, ctrs, strict=True):
            _send_readers(key_client, experiment, arm, rng, readers=readers_per_look, ctr=ctr,
                          start=(look * len(arms) + arms.index(arm)) * readers_per_look)
        body = owner_client.post(f"/api/v1/experiments/{experiment.pk}/decide/").json()
        if body["concluded"]:
            break
    return body


@pytest.mark.slow
def test_aa_experiments_watched_after_every_batch_rarely_name_a_winner(owner_client, brand, make_key, sent):
    """20 A/A experiments (both arms 5 % CTR), decided after each of 8 batches: at the brand's alpha 0.05
    about one would name a winner by chance; the fixed-horizon rule named one in 22.5 % of such runs."""
    rng = np.random.default_rng(7)
    key_client = client_for_key(make_key(brand, scopes=["events:write"]))
    winners = 0
    for _ in range(20):
        experiment = make_experiment(brand, min_sample_per_arm=100)
        body = _watch(owner_client, key_client, experiment, rng, ctrs=(0.05, 0.05), looks=8, readers_per_look=150)
        winners += body["concluded"]
        sequential = body["evidence"]["analysis"]["sequential"]
        assert body["evidence"]["unit"] == "reader" and sequential["method"] == "difference_in_means"
        assert sequential["readers"] == 8 * 2 * 150 or body["concluded"]
    assert winners <= 2


@pytest.mark.slow
def test_a_real_30_percent_lift_concludes_for_it(owner_client, brand, make_key, sent):
    """The brand sets the effect it cares about (+30 % on ~0.1 clicks per reader); the test finds it."""
    brand.settings = {"minimum_detectable_effect": 0.3, "baseline_rate": 0.1}
    brand.save(update_fields=["settings"])
    rng = np.random.default_rng(3)
    key_client = client_for_key(make_key(brand, scopes=["events:write"]))
    experiment = make_experiment(brand, min_sample_per_arm=100)
    body = _watch(owner_client, key_client, experiment, rng, ctrs=(0.05, 0.065), looks=20, readers_per_look=500)
    treatment = experiment.arms.order_by("id").last()
    assert body["concluded"] is True
    assert body["experiment"]["decision"]["winner_arm"] == treatment.pk
    sequential = body["evidence"]["analysis"]["sequential"]
    assert sequential["winner_id"] == str(treatment.pk) and sequential["p_value"] < 0.05
    (comparison,) = sequential["comparisons"]
    assert 0 < comparison["cs_low"] < comparison["difference"] < comparison["cs_high"]


def test_results_show_the_evidence_missing_and_the_readers_needed(owner_client, brand, make_key):
    rng = np.random.default_rng(1)
    key_client = client_for_key(make_key(brand, scopes=["events:write"]))
    experiment = make_experiment(brand, min_sample_per_arm=100)
    for arm, ctr in zip(experiment.arms.order_by("id"), (0.05, 0.06), strict=True):
        _send_readers(key_client, experiment, arm, rng, readers=300, ctr=ctr, start=arm.pk * 1000)
    sequential = owner_client.get(f"/api/v1/experiments/{experiment.pk}/results/").json()["evidence"]["analysis"][
        "sequential"]
    assert sequential["winner_id"] is None and sequential["readers"] == 600
    assert sequential["p_value"] > 0.05 and sequential["readers_needed"] > 600
    assert sequential["comparisons"][0]["cs_low"] < 0 < sequential["comparisons"][0]["cs_high"]


def test_thompson_experiments_are_weighted_by_stored_propensities(owner_client, brand, make_key):
    """Readers assigned through the API carry the arm's share at that moment; the test weights by it."""
    experiment = make_experiment(brand, allocation="thompson", weights=[0.8, 0.2], min_sample_per_arm=10)
    assign_client = client_for_key(make_key(brand, scopes=["assign", "events:write"]))
    events = []
    for unit in range(200):
        body = assign_client.post(f"/api/v1/experiments/{experiment.pk}/assign",
                                  {"unit_id": f"r{unit}"}, format="json").json()
        events.append({"event_id": f"e{unit}", "experiment": experiment.pk, "arm": body["arm"], "type": "impression",
                       "unit_id": f"r{unit}", "timestamp": timezone.now().isoformat()})
    assert assign_client.post("/api/v1/events", {"events": events}, format="json").status_code == 200
    shares = {a.pk: a.weight for a in experiment.arms.all()}
    assert all(a.propensity == pytest.approx(shares[a.arm_id]) for a in Assignment.objects.filter(experiment=experiment))
    sequential = owner_client.get(f"/api/v1/experiments/{experiment.pk}/results/").json()["evidence"]["analysis"][
        "sequential"]
    assert sequential["method"] == "ipw" and sequential["readers"] == 200
