import pytest

from prefcontent.experiments.models import Experiment
from tests.factories import BrandFactory
from tests.prefcontent.content.factories import CampaignFactory, VariantFactory
from tests.prefcontent.experiments.factories import make_experiment


def _create(client, brand, arms, **extra):
    return client.post("/api/v1/experiments/", {"brand": brand.pk, "name": "Spring test", "arms": arms, **extra},
                       format="json")


@pytest.mark.smoke
def test_create_with_weights_normalised_and_metric_from_campaign(brand, owner_client):
    a, b, c = (VariantFactory(brand=brand) for _ in range(3))
    campaign = CampaignFactory(brand=brand, goal_metric="conversion")
    response = _create(owner_client, brand, [{"variant": a.pk, "is_control": True, "weight": 2},
                                             {"variant": b.pk, "weight": 1}, {"variant": c.pk, "weight": 1}],
                       campaign=campaign.pk)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft" and body["primary_metric"] == "conversion"
    assert [arm["weight"] for arm in body["arms"]] == [0.5, 0.25, 0.25]
    assert [arm["is_control"] for arm in body["arms"]] == [True, False, False]


@pytest.mark.parametrize(("arms", "code"), [
    ([{"variant": 0, "is_control": True}], "invalid_arms"),
    ([{"variant": 0}, {"variant": 1}], "invalid_control"),
    ([{"variant": 0, "is_control": True}, {"variant": 1, "is_control": True}], "invalid_control"),
    ([{"variant": 0, "is_control": True}, {"variant": 0}], "duplicate_variant"),
    ([{"variant": 0, "is_control": True, "weight": 1}, {"variant": 1}], "invalid_weights"),
    ([{"variant": 0, "is_control": True, "weight": 0}, {"variant": 1, "weight": 0}], "invalid_weights"),
])
def test_create_rejects_bad_arms(brand, owner_client, arms, code):
    variants = [VariantFactory(brand=brand), VariantFactory(brand=brand)]
    arms = [{**arm, "variant": variants[arm["variant"]].pk} for arm in arms]
    response = _create(owner_client, brand, arms)
    assert response.status_code == 400 and response.json()["error"]["code"] == code
    assert not Experiment.objects.exists()


def test_variant_of_another_brand_is_not_found(brand, owner_client):
    mine = VariantFactory(brand=brand)
    other = VariantFactory(brand=BrandFactory(organization=brand.organization))
    response = _create(owner_client, brand, [{"variant": mine.pk, "is_control": True}, {"variant": other.pk}])
    assert response.status_code == 404


@pytest.mark.smoke
def test_state_machine_walks_and_refuses_invalid_moves_with_409(brand, owner_client):
    experiment = make_experiment(brand, status="draft")
    url = f"/api/v1/experiments/{experiment.pk}"
    for action, code in [("pause", 409), ("resume", 409), ("stop", 409), ("decide", 409)]:
        response = owner_client.post(f"{url}/{action}/")
        assert response.status_code == code, (action, response.content)
        assert response.json()["error"]["code"] == "invalid_state"
    assert owner_client.post(f"{url}/start/").json()["status"] == "running"
    assert owner_client.post(f"{url}/start/").status_code == 409
    assert owner_client.post(f"{url}/resume/").status_code == 409
    assert owner_client.post(f"{url}/pause/").json()["status"] == "paused"
    assert owner_client.post(f"{url}/pause/").status_code == 409
    assert owner_client.post(f"{url}/resume/").json()["status"] == "running"
    stopped = owner_client.post(f"{url}/stop/").json()
    assert stopped["experiment"]["status"] == "stopped" and stopped["concluded"] is True
    assert stopped["experiment"]["decision"]["outcome"] == "inconclusive"
    for action in ("start", "pause", "resume"):
        assert owner_client.post(f"{url}/{action}/").status_code == 409, action
    for action in ("stop", "decide"):  # an ended experiment answers with the decision it ended with
        again = owner_client.post(f"{url}/{action}/")
        assert again.status_code == 200 and again.json()["experiment"]["decision"] == stopped["experiment"]["decision"]
    experiment.refresh_from_db()
    assert experiment.started_at and experiment.ended_at and experiment.status == "stopped"


def test_setup_is_frozen_after_start_and_only_drafts_are_deleted(brand, owner_client):
    experiment = make_experiment(brand, status="running")
    url = f"/api/v1/experiments/{experiment.pk}/"
    assert owner_client.patch(url, {"name": "Renamed"}, format="json").json()["name"] == "Renamed"
    frozen = owner_client.patch(url, {"min_sample_per_arm": 5}, format="json")
    assert frozen.status_code == 409
    assert owner_client.delete(url).status_code == 409
    draft = make_experiment(brand, status="draft")
    assert owner_client.patch(f"/api/v1/experiments/{draft.pk}/", {"allocation": "thompson"},
                              format="json").json()["allocation"] == "thompson"
    assert owner_client.delete(f"/api/v1/experiments/{draft.pk}/").status_code == 204


def test_marketer_writes_viewer_reads(brand, make_member):
    from tests.conftest import client_for_user

    experiment = make_experiment(brand, status="draft")
    viewer = client_for_user(make_member(brand.organization, "viewer"))
    marketer = client_for_user(make_member(brand.organization, "marketer"))
    assert viewer.get(f"/api/v1/experiments/{experiment.pk}/").status_code == 200
    assert viewer.post(f"/api/v1/experiments/{experiment.pk}/start/").status_code == 403
    assert marketer.post(f"/api/v1/experiments/{experiment.pk}/start/").status_code == 200


def test_list_filters_by_status(brand, owner_client):
    running = make_experiment(brand, status="running")
    make_experiment(brand, status="draft")
    listed = owner_client.get("/api/v1/experiments/?status=running").json()["results"]
    assert [e["id"] for e in listed] == [running.pk]


def test_weights_change_only_for_fixed_allocation(brand, owner_client):
    experiment = make_experiment(brand, status="running")
    arms = list(experiment.arms.all())
    body = {"arms": [{"id": arms[0].pk, "weight": 3}, {"id": arms[1].pk, "weight": 1}]}
    response = owner_client.post(f"/api/v1/experiments/{experiment.pk}/weights/", body, format="json")
    assert [a["weight"] for a in response.json()["arms"]] == [0.75, 0.25]
    missing = owner_client.post(f"/api/v1/experiments/{experiment.pk}/weights/",
                                {"arms": [{"id": arms[0].pk, "weight": 1}]}, format="json")
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "invalid_weights"
    thompson = make_experiment(brand, status="running", allocation="thompson")
    body = {"arms": [{"id": a.pk, "weight": 1} for a in thompson.arms.all()]}
    assert owner_client.post(f"/api/v1/experiments/{thompson.pk}/weights/", body, format="json").status_code == 409
