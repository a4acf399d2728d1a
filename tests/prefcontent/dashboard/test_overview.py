import pytest

from prefcontent.experiments.decisions import experiment_decide
from prefcontent.preferences.building import pairs_build
from prefcontent.tenancy.principal import SYSTEM
from prefcontent.training.models import TrainingRun
from tests.factories import BrandFactory
from tests.prefcontent.dashboard.helpers import (
    GATE_FAILED,
    adapter,
    concluded_with_winner,
    experiment,
    send_events,
    snapshot,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ["owner", "admin", "marketer", "ops", "viewer"])
def test_empty_brand_overview_renders_for_every_role(brand, member, role):
    _, client = member(brand.organization, role)
    response = client.get("/dashboard/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "None: generation uses the base model." in html and "no training run yet" in html
    assert 'id="alerts"' not in html


def test_overview_shows_active_adapter_pairs_lift_and_alerts(brand, member):
    adapter(brand, 1, "active")
    adapter(brand, 2, "rejected", report=GATE_FAILED)
    snap = snapshot(brand)  # one usable pair, before the run
    TrainingRun.objects.create(brand=brand, snapshot=snap, base_model_id="base", state="failed",
                               error="CUDA out of memory")
    decided = concluded_with_winner(brand, name="Generated wins", challenger_source="generated")
    pairs_build(experiment_ids=[decided.pk])  # one more pair after the run
    skewed = experiment(brand, name="Skewed", start=True, min_sample_per_arm=10)
    control, challenger = skewed.arms.order_by("id")
    send_events(skewed, control, impressions=200, prefix="s")
    send_events(skewed, challenger, impressions=20, prefix="s")
    experiment_decide(principal=SYSTEM, experiment=skewed)

    _, client = member(brand.organization, "viewer")
    html = client.get("/dashboard/").content.decode()
    active = html.split('id="active-adapter"')[1].split("</section>")[0]
    assert ">v1</a>" in active and 'data-check="reward_accuracy"' in active
    assert '<strong id="pairs-since">1</strong>' in html
    alerts = html.split('id="alerts"')[1].split("</section>")[0]
    assert 'data-alert="srm"' in alerts and "Skewed" in alerts
    assert 'data-alert="rejected_adapter"' in alerts and "v2 rejected" in alerts
    assert 'data-alert="failed_run"' in alerts and "CUDA out of memory" in alerts
    lift = html.split('id="lift"')[1].split("</section>")[0]
    assert "(1 experiment)" in lift and "<circle" in lift  # one decided experiment with a generated arm


def test_overview_never_shows_another_tenants_data(brand, member):
    other = BrandFactory()
    adapter(other, 1, "rejected", report=GATE_FAILED)
    concluded_with_winner(other, challenger_source="generated")
    _, client = member(brand.organization, "owner")
    html = client.get("/dashboard/").content.decode()
    assert 'id="alerts"' not in html and "(0 experiments)" in html


def test_overview_shows_the_simulation_history(brand, member):
    brand.settings = {"simulation_history": [
        {"round": 0, "adapter_version": None, "true_ctr": 0.031, "valid_rate": 1.0, "violation_rate": 0.1,
         "distinct2": 0.5},
        {"round": 1, "adapter_version": 1, "true_ctr": 0.052, "valid_rate": 0.97, "violation_rate": 0.0,
         "distinct2": 0.45}]}
    brand.save()
    _, client = member(brand.organization, "viewer")
    html = client.get("/dashboard/").content.decode()
    assert 'id="simulation"' in html and "0.0520" in html and "Simulated true CTR by round" in html
