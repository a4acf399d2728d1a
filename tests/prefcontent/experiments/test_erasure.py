import pytest
from django.db.models import RestrictedError

from prefcontent.brands.models import Brand
from prefcontent.content.models import Variant
from prefcontent.experiments.models import Arm, Decision, Event
from tests.prefcontent.experiments.factories import make_experiment


def test_deleting_a_brand_erases_its_experiments_events_and_decisions(brand, owner_client):
    experiment = make_experiment(brand, status="concluded")
    winner = experiment.arms.last()
    Decision.objects.create(experiment=experiment, outcome="winner", winner_arm=winner, evidence={})
    Event.objects.create(brand=brand, experiment=experiment, arm=winner, event_id="e1", type="click",
                         unit_hash="0" * 64, occurred_at=experiment.started_at, received_at=experiment.started_at)
    assert owner_client.delete(f"/api/v1/brands/{brand.pk}/").status_code == 204
    assert not Brand.objects.filter(pk=brand.pk).exists()
    assert not (Arm.objects.exists() or Decision.objects.exists() or Event.objects.exists()
                or Variant.objects.exists())


def test_a_variant_in_an_experiment_cannot_be_deleted_alone(brand):
    experiment = make_experiment(brand)
    with pytest.raises(RestrictedError):
        experiment.arms.first().variant.delete()
