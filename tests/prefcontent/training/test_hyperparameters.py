"""Issue #23 finding 6 (and 5's twin): hyperparameters have a schema; max_steps 10**12 is a 400, not a 500."""
from __future__ import annotations

import pytest

from prefcontent.training.facade import CLIENT_HYPERPARAMETERS
from prefcontent.training.hyperparameters import HYPERPARAMETERS, hyperparameters_check, hyperparameters_schema
from prefcontent.training.models import TrainingRun
from tests.hostile import assert_error_shape, send
from tests.prefcontent.training.factories import make_snapshot


@pytest.fixture
def snapshot(brand):
    return make_snapshot(brand, train=4, holdout=5)


BAD = [
    {"max_steps": 10**12}, {"max_steps": 10**20}, {"epochs": 10**9}, {"seed": 2**40}, {"beta": "0.1"},
    {"lr": 1e308}, {"lr": 0}, {"batch_size": True}, {"lora_alpha": 0.5}, {"warmup_steps": -1},
    {"lora_dropout": 1}, {"loss_type": ["sigmoid"]}, {"eval_every": {}}, {"bogus": 1},
]


@pytest.mark.parametrize("hp", BAD, ids=lambda hp: next(iter(hp)) + "=" + str(next(iter(hp.values())))[:12])
def test_a_bad_hyperparameter_is_a_400_naming_it(owner_client, brand, snapshot, sent_tasks, hp):
    body = {"brand": brand.pk, "snapshot": snapshot.pk, "hyperparameters": hp}
    error = assert_error_shape(send(owner_client, "post", "/api/v1/training-runs/", body), 400, "validation_error")
    assert set(error["details"]["fields"]["hyperparameters"]) == set(hp)
    assert not TrainingRun.objects.exists()


@pytest.mark.parametrize("hp", BAD[:4], ids=lambda hp: next(iter(hp)))
def test_a_retrain_policy_refuses_them_too(owner_client, brand, hp):
    body = {"brand": brand.pk, "hyperparameters": hp}
    assert_error_shape(send(owner_client, "post", "/api/v1/retrain-policies/", body), 400)


def test_in_range_values_are_accepted():
    assert hyperparameters_check({"max_steps": 100_000, "beta": 0.1, "lora_rank": 16, "lr": 5e-5, "seed": 0,
                                  "max_steps_unused": None}) == {"max_steps_unused": "is not a known hyperparameter"}
    assert hyperparameters_check({"max_steps": None, "epochs": 3, "loss_type": "ipo"}) == {}


def test_the_schema_covers_every_client_hyperparameter():
    assert set(HYPERPARAMETERS) == set(CLIENT_HYPERPARAMETERS)
    assert set(hyperparameters_schema()["properties"]) == set(CLIENT_HYPERPARAMETERS)


def test_priority_and_intervals_fit_their_32_bit_columns(owner_client, brand):
    for field in ("priority", "min_interval_minutes", "threshold_pairs"):
        body = {"brand": brand.pk, field: 2**31}
        error = assert_error_shape(send(owner_client, "post", "/api/v1/retrain-policies/", body), 400)
        assert field in error["details"]["fields"]
