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


def test_a_visitors_erasure_removes_their_events_and_assignments_only(brand, owner_client, make_key):
    """A data subject's request, by the unit_id they were known by: their rows go, nobody else's do."""
    from django.utils import timezone

    from prefcontent.accounts.models import AuditLog
    from prefcontent.experiments.models import Assignment
    from tests.conftest import client_for_key
    from tests.factories import BrandFactory

    experiment = make_experiment(brand)
    control = experiment.arms.order_by("id").first()
    other_brand = BrandFactory(organization=brand.organization)
    elsewhere = make_experiment(other_brand)
    for owner, exp, arm in ((brand, experiment, control), (other_brand, elsewhere, elsewhere.arms.first())):
        key = client_for_key(make_key(owner, scopes=["assign", "events:write"]))
        for unit in ("alice@example.com", "bob"):
            assert key.get(f"/api/v1/experiments/{exp.pk}/assign?unit_id={unit}").status_code == 200
            events = [{"event_id": f"{unit[:5]}-{i}", "experiment": exp.pk, "arm": arm.pk, "type": "impression",
                       "unit_id": unit, "timestamp": timezone.now().isoformat()} for i in range(3)]
            sent = key.post("/api/v1/events", {"events": events}, format="json").json()
            assert sent.get("accepted") == 3, sent

    response = owner_client.post(f"/api/v1/brands/{brand.pk}/visitors/erase", {"unit_id": "alice@example.com"},
                                 format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"events": 3, "assignments": 1}
    assert Event.objects.filter(brand=brand).count() == 3 and Event.objects.filter(brand=other_brand).count() == 6
    assert Assignment.objects.filter(experiment=experiment).count() == 1
    assert Assignment.objects.filter(experiment=elsewhere).count() == 2
    log = AuditLog.objects.get(action="visitor.erase")
    assert "alice" not in str(log.data) and log.data["events"] == 3
    bad = owner_client.post(f"/api/v1/brands/{brand.pk}/visitors/erase", {"unit_id": ""}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_unit_id"
