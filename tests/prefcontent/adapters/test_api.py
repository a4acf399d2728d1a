"""Adapter versions: listing, promotion, rollback (audited), checksum-verified loading, one active per brand."""
from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from prefcontent.accounts.models import AuditLog
from prefcontent.adapters.models import AdapterVersion
from prefcontent.adapters.selectors import (
    AdapterArtifactError,
    adapter_active_for,
    adapter_local_path,
)
from tests.conftest import client_for_user
from tests.prefcontent.adapters.factories import make_adapter

Status = AdapterVersion.Status


@pytest.fixture
def versions(brand, tmp_path):
    """v1 retired, v2 active, v3 candidate, v4 rejected."""
    return [make_adapter(brand, version=1, status=Status.RETIRED, tmp_path=tmp_path),
            make_adapter(brand, version=2, status=Status.ACTIVE, tmp_path=tmp_path),
            make_adapter(brand, version=3, status=Status.CANDIDATE, tmp_path=tmp_path),
            make_adapter(brand, version=4, status=Status.REJECTED, tmp_path=tmp_path, passed=False)]


def statuses(brand) -> dict[int, str]:
    return dict(AdapterVersion.objects.filter(brand=brand).values_list("version", "status"))


def test_list_and_detail_show_gate_outcome_and_model_card(owner_client, brand, versions):
    listed = owner_client.get(f"/api/v1/adapters/?brand={brand.pk}").json()["results"]
    assert [row["version"] for row in listed] == [4, 3, 2, 1]
    assert listed[0]["passed_gate"] is False
    detail = owner_client.get(f"/api/v1/adapters/{versions[3].pk}/").json()
    assert detail["eval_report"]["reasons"] == ["reward_accuracy: too low"]
    assert "model_card" in detail and detail["sha256"] == versions[3].sha256


def test_promote_candidate_retires_the_active_one_and_is_audited(owner_client, brand, versions):
    from tests.metrics_scrape import change_since, scrape

    before = scrape()
    response = owner_client.post(f"/api/v1/adapters/{versions[2].pk}/promote/")
    assert response.status_code == 200, response.content
    assert change_since(before)("prefcontent_adapters_promoted_total", brand=brand.pk, how="manual") == 1
    assert response.json()["status"] == "active" and response.json()["promoted_at"]
    assert statuses(brand) == {1: "retired", 2: "retired", 3: "active", 4: "rejected"}
    log = AuditLog.objects.get(action="adapter.promote")
    assert log.data == {"version": 3, "previous_version": 2} and log.brand_id == brand.pk


def test_rejected_versions_cannot_be_promoted_or_rolled_back_to(owner_client, brand, versions):
    assert owner_client.post(f"/api/v1/adapters/{versions[3].pk}/promote/").status_code == 409
    assert statuses(brand)[2] == "active"


def test_rollback_goes_to_any_earlier_version_only(owner_client, brand, versions):
    newer = owner_client.post(f"/api/v1/adapters/{versions[2].pk}/rollback/")
    assert newer.status_code == 409 and newer.json()["error"]["code"] == "invalid_state"
    from tests.metrics_scrape import change_since, scrape

    before = scrape()
    response = owner_client.post(f"/api/v1/adapters/{versions[0].pk}/rollback/")
    assert response.status_code == 200, response.content
    assert change_since(before)("prefcontent_adapters_promoted_total", brand=brand.pk, how="rollback") == 1
    assert statuses(brand) == {1: "active", 2: "retired", 3: "candidate", 4: "rejected"}
    assert AuditLog.objects.get(action="adapter.rollback").data == {"version": 1, "from_version": 2}


@pytest.mark.parametrize(("role", "code"), [("ops", 200), ("admin", 200), ("marketer", 403), ("viewer", 403)])
def test_promotion_is_a_role_decision(org, make_member, versions, role, code):
    client = client_for_user(make_member(org, role))
    assert client.post(f"/api/v1/adapters/{versions[2].pk}/promote/").status_code == code


def test_the_database_allows_one_active_version_per_brand(brand, versions):
    with pytest.raises(IntegrityError), transaction.atomic():
        AdapterVersion.objects.filter(pk=versions[0].pk).update(status=Status.ACTIVE)
    assert adapter_active_for(brand) == versions[1]


def test_local_path_verifies_the_checksum(versions):
    path = adapter_local_path(versions[1])
    assert (path / "adapter_model.safetensors").read_bytes() == bytes(range(256)) * 4


def test_corrupt_artifact_fails_to_load_with_a_clear_error_and_the_active_one_stays(owner_client, brand, versions):
    weights = adapter_local_path(versions[2]) / "adapter_model.safetensors"
    data = bytearray(weights.read_bytes())
    data[10] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(AdapterArtifactError, match="v3 .* is corrupt"):
        adapter_local_path(versions[2])
    response = owner_client.post(f"/api/v1/adapters/{versions[2].pk}/promote/")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "adapter_artifact_invalid"
    assert statuses(brand)[2] == "active" and adapter_local_path(adapter_active_for(brand)).is_dir()


def test_missing_artifact_is_reported_as_missing(versions, settings):
    from models_store import get_store

    get_store(settings.MODELS_STORE_URL).delete(versions[0].artifact_key)
    with pytest.raises(AdapterArtifactError, match="missing"):
        adapter_local_path(versions[0])
