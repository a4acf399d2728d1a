"""Idempotency-Key on POST: a retried create answers the first answer and writes nothing new."""
from __future__ import annotations

import pytest

from prefcontent.content.models import Campaign
from tests.conftest import client_for_key

pytestmark = pytest.mark.django_db


def create(client, brand, name="Spring", key="retry-1"):
    body = {"brand": brand.pk, "name": name, "channel": "headline"}
    return client.post("/api/v1/campaigns/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_retried_create_is_answered_again_and_writes_once(owner_client, brand):
    first = create(owner_client, brand)
    assert first.status_code == 201, first.content
    again = create(owner_client, brand)
    assert again.status_code == 201 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Campaign.objects.filter(brand=brand).count() == 1
    other_key = create(owner_client, brand, key="retry-2")
    assert other_key.status_code == 201 and Campaign.objects.filter(brand=brand).count() == 2
    without = owner_client.post("/api/v1/campaigns/", {"brand": brand.pk, "name": "Spring", "channel": "headline"},
                                format="json")
    assert without.status_code == 201 and Campaign.objects.filter(brand=brand).count() == 3


def test_the_same_key_for_another_request_is_refused(owner_client, brand):
    assert create(owner_client, brand).status_code == 201
    reused = create(owner_client, brand, name="Autumn")
    assert reused.status_code == 422 and reused.json()["error"]["code"] == "idempotency_key_reused"
    assert Campaign.objects.filter(brand=brand).count() == 1


def test_a_refused_request_does_not_keep_the_key(owner_client, brand):
    bad = owner_client.post("/api/v1/campaigns/", {"brand": brand.pk, "channel": "headline"}, format="json",
                            HTTP_IDEMPOTENCY_KEY="fix-and-retry")
    assert bad.status_code == 400
    fixed = create(owner_client, brand, key="fix-and-retry")
    assert fixed.status_code == 201 and Campaign.objects.filter(brand=brand).count() == 1


def test_keys_belong_to_their_principal(owner_client, brand, make_key):
    assert create(owner_client, brand).status_code == 201
    api_key = client_for_key(make_key(brand, scopes=["content:write"]))
    by_key = create(api_key, brand)  # the same key string from another principal is another key
    assert by_key.status_code == 201 and "Idempotent-Replayed" not in by_key
    assert create(api_key, brand)["Idempotent-Replayed"] == "true"
    assert Campaign.objects.filter(brand=brand).count() == 2


def test_a_retry_while_the_first_still_runs_gets_409(owner_client, owner, brand):
    from rest_framework.test import APIRequestFactory

    from prefcontent.core.idempotency import _hash
    from prefcontent.core.models import IdempotencyRecord

    body = {"brand": brand.pk, "name": "Spring", "channel": "headline"}
    in_flight = APIRequestFactory().post("/api/v1/campaigns/", body, format="json")
    IdempotencyRecord.objects.create(principal=f"u{owner.pk}", key="slow", request_hash=_hash(in_flight))
    response = owner_client.post("/api/v1/campaigns/", body, format="json", HTTP_IDEMPOTENCY_KEY="slow")
    assert response.status_code == 409 and response.json()["error"]["code"] == "idempotency_key_in_progress"
    bad = owner_client.post("/api/v1/campaigns/", body, format="json", HTTP_IDEMPOTENCY_KEY="x" * 300)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_idempotency_key"
