import pytest

from prefcontent.content.hashing import content_hash
from prefcontent.content.models import Variant
from tests.conftest import client_for_key
from tests.factories import BrandFactory
from tests.prefcontent.content.factories import BriefFactory, CampaignFactory


def test_content_hash_ignores_spacing_and_form_but_not_case():
    assert content_hash("  Run  further\n today ") == content_hash("Run further today")
    assert content_hash("Cafe\u0301") == content_hash("Caf\u00e9")  # NFD and NFC are the same copy
    assert content_hash("Run further") != content_hash("run further")


@pytest.mark.smoke
def test_marketer_creates_campaign_brief_and_variant(brand, owner_client):
    campaign = owner_client.post("/api/v1/campaigns/", {"brand": brand.pk, "name": "Spring",
                                                       "channel": "email_subject", "goal_metric": "conversion"},
                                 format="json")
    assert campaign.status_code == 201, campaign.content
    brief = owner_client.post("/api/v1/briefs/", {"brand": brand.pk, "title": "Spring shoes",
                                                 "campaign": campaign.json()["id"], "tone": "playful"}, format="json")
    assert brief.status_code == 201, brief.content
    assert brief.json()["locale"] == brand.locale  # defaults to the brand's
    variant = owner_client.post("/api/v1/variants/", {"brand": brand.pk, "brief": brief.json()["id"],
                                                     "text": " Spring  into it ", "source": "human"}, format="json")
    assert variant.status_code == 201, variant.content
    body = variant.json()
    assert body["content_hash"] == content_hash("Spring into it")
    assert body["campaign"] == campaign.json()["id"]  # taken from the brief
    listed = owner_client.get(f"/api/v1/variants/?brief={brief.json()['id']}").json()["results"]
    assert [v["id"] for v in listed] == [body["id"]]


def test_bad_choices_and_foreign_references(brand, owner_client):
    bad = owner_client.post("/api/v1/campaigns/", {"brand": brand.pk, "name": "x", "channel": "billboard"},
                            format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_error"
    foreign_brief = BriefFactory(brand=BrandFactory(organization=brand.organization))
    other_brand_of_same_org = owner_client.post(
        "/api/v1/variants/", {"brand": brand.pk, "brief": foreign_brief.pk, "text": "Hi"}, format="json")
    assert other_brand_of_same_org.status_code == 404  # a brief of another brand cannot be attached
    assert not Variant.objects.exists()


def test_api_key_scopes_for_content(brand, make_key):
    reader = client_for_key(make_key(brand, scopes=["content:read"]))
    writer = client_for_key(make_key(brand, scopes=["content:write", "content:read"]))
    body = {"brand": brand.pk, "text": "From the CMS", "source": "imported"}
    refused = reader.post("/api/v1/variants/", body, format="json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "missing_scope"
    assert writer.post("/api/v1/variants/", body, format="json").status_code == 201
    assert reader.get("/api/v1/variants/").json()["count"] == 1


def test_clients_cannot_label_a_variant_a_rule_repair(brand, owner_client):
    """Repair variants are written by pair building only (see prefcontent.brands.repair)."""
    response = owner_client.post("/api/v1/variants/", {"brand": brand.pk, "text": "Save 30% today",
                                                       "source": "repair"}, format="json")
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "validation_error" and "source" in body["details"]["fields"]


def test_campaign_and_brief_updates(brand, owner_client):
    campaign = CampaignFactory(brand=brand)
    brief = BriefFactory(brand=brand)
    response = owner_client.patch(f"/api/v1/campaigns/{campaign.pk}/", {"goal_metric": "conversion"}, format="json")
    assert response.status_code == 200 and response.json()["goal_metric"] == "conversion"
    response = owner_client.patch(f"/api/v1/briefs/{brief.pk}/", {"campaign": campaign.pk, "constraints": "No emoji"},
                                  format="json")
    assert response.status_code == 200
    brief.refresh_from_db()
    assert brief.campaign_id == campaign.pk and brief.constraints == "No emoji"
