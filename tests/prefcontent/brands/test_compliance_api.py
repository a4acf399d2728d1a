"""Compliance rules over the API: create, validate, check, roles."""
from __future__ import annotations

import pytest

from prefcontent.brands.compliance_models import ComplianceRule
from tests.conftest import client_for_user

pytestmark = pytest.mark.django_db


def test_create_list_and_check(owner_client, brand):
    r = owner_client.post("/api/v1/compliance-rules/", {"brand": brand.pk, "kind": "max_discount", "limit": 30},
                          format="json")
    assert r.status_code == 201, r.content
    assert r.json()["limit"] == 30
    listed = owner_client.get(f"/api/v1/compliance-rules/?brand={brand.pk}").json()["results"]
    assert [row["kind"] for row in listed] == ["max_discount"]
    check = owner_client.post(f"/api/v1/brands/{brand.pk}/compliance/check", {"text": "Get 50% off now"},
                              format="json").json()
    assert check["ok"] is False and check["violations"][0]["rule"] == "max_discount"


def test_invalid_regex_is_a_400_with_the_error_shape(owner_client, brand):
    r = owner_client.post("/api/v1/compliance-rules/", {"brand": brand.pk, "kind": "regex", "pattern": "([a"},
                          format="json")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_rule"
    assert not ComplianceRule.objects.exists()


def test_update_cannot_make_a_rule_invalid(owner_client, brand):
    rule = ComplianceRule.objects.create(brand=brand, kind="max_length", limit=50)
    r = owner_client.patch(f"/api/v1/compliance-rules/{rule.pk}/", {"limit": None}, format="json")
    assert r.status_code == 400
    rule.refresh_from_db()
    assert rule.limit == 50


def test_viewer_may_check_but_not_edit(org, brand, make_member):
    viewer = client_for_user(make_member(org, "viewer"))
    rule = ComplianceRule.objects.create(brand=brand, kind="banned_phrase", pattern="free money")
    assert viewer.post(f"/api/v1/brands/{brand.pk}/compliance/check", {"text": "Free money!"},
                       format="json").json()["ok"] is False
    assert viewer.delete(f"/api/v1/compliance-rules/{rule.pk}/").status_code == 403
    assert ComplianceRule.objects.filter(pk=rule.pk).exists()
