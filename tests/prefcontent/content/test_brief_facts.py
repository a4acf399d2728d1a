"""A brief's facts through the API: stored as sent, serialized back, bad facts a 400 naming the field."""
from __future__ import annotations

from prefcontent.content.models import Brief
from tests.prefcontent.content.factories import BriefFactory

FACTS = {"offer": {"discount_percent": 10, "free_shipping": False}, "validity": {"ends": "2026-12-06"},
         "allowed_claims": ["waterproof"], "never_allowed": ["superlative"]}


def test_brief_created_with_facts_serializes_them(brand, owner_client):
    response = owner_client.post("/api/v1/briefs/", {"brand": brand.pk, "title": "Rain jackets", "facts": FACTS},
                                 format="json")
    assert response.status_code == 201, response.content
    assert response.json()["facts"] == FACTS
    assert Brief.objects.get(pk=response.json()["id"]).facts == FACTS
    assert owner_client.get(f"/api/v1/briefs/{response.json()['id']}/").json()["facts"] == FACTS


def test_brief_without_facts_stays_valid(brand, owner_client):
    response = owner_client.post("/api/v1/briefs/", {"brand": brand.pk, "title": "Rain jackets"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["facts"] == {}


def test_bad_facts_are_a_400_naming_the_field_and_nothing_is_written(brand, owner_client):
    before = Brief.objects.count()
    response = owner_client.post("/api/v1/briefs/", {"brand": brand.pk, "title": "Rain jackets",
                                                     "facts": {"offer": {"discount_percent": 150}}}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_facts"
    assert "facts.offer.discount_percent" in error["details"]["fields"]
    assert Brief.objects.count() == before


def test_facts_update_is_validated_and_can_clear_them(brand, owner_client):
    brief = BriefFactory(brand=brand)
    bad = owner_client.patch(f"/api/v1/briefs/{brief.pk}/", {"facts": {"validity": {"ends": "next week"}}},
                             format="json")
    assert bad.status_code == 400 and "facts.validity.ends" in bad.json()["error"]["details"]["fields"]
    ok = owner_client.patch(f"/api/v1/briefs/{brief.pk}/", {"facts": FACTS}, format="json")
    assert ok.status_code == 200 and ok.json()["facts"] == FACTS
    cleared = owner_client.patch(f"/api/v1/briefs/{brief.pk}/", {"facts": {}}, format="json")
    assert cleared.status_code == 200
    brief.refresh_from_db()
    assert brief.facts == {}
