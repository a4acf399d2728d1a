import pytest
from django.test import TestCase

from tests.conftest import client_for_user
from tests.factories import BrandFactory


@pytest.mark.smoke
def test_owner_creates_updates_and_deletes_a_brand(owner_client, org):
    created = owner_client.post("/api/v1/brands/", {"organization": org.pk, "name": "Sunny Foods",
                                                    "voice": "Warm."}, format="json")
    assert created.status_code == 201, created.content
    brand_id = created.json()["id"]
    assert created.json()["slug"] == "sunny-foods"
    patched = owner_client.patch(f"/api/v1/brands/{brand_id}/", {"voice": "Bold."}, format="json")
    assert patched.json()["voice"] == "Bold."
    assert owner_client.delete(f"/api/v1/brands/{brand_id}/").status_code == 204
    assert owner_client.get(f"/api/v1/brands/{brand_id}/").status_code == 404


def test_duplicate_slug_is_a_conflict(owner_client, brand):
    response = owner_client.post("/api/v1/brands/", {"organization": brand.organization_id, "name": "x",
                                                     "slug": brand.slug}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


def test_marketer_edits_voice_but_cannot_delete(org, brand, make_member):
    client = client_for_user(make_member(org, "marketer"))
    assert client.patch(f"/api/v1/brands/{brand.pk}/", {"voice": "New"}, format="json").status_code == 200
    assert client.delete(f"/api/v1/brands/{brand.pk}/").status_code == 403


def test_non_numeric_id_is_404(owner_client):
    assert owner_client.get("/api/v1/brands/abc/").status_code == 404


def test_deleting_a_brand_erases_its_artifacts(owner_client, brand, settings, tmp_path):
    from models_store import get_store
    from prefcontent.brands.services import brand_artifact_prefix

    store = get_store(settings.MODELS_STORE_URL)
    src = tmp_path / "adapter"
    src.mkdir()
    (src / "adapter_model.safetensors").write_bytes(b"weights")
    store.put_dir(src, f"{brand_artifact_prefix(brand.pk)}/adapters/v1")
    other = BrandFactory(organization=brand.organization)
    store.put_dir(src, f"{brand_artifact_prefix(other.pk)}/adapters/v1")
    from prefcontent.brands.erasure import brand_erasures_sweep

    with TestCase.captureOnCommitCallbacks(execute=False) as callbacks:
        assert owner_client.delete(f"/api/v1/brands/{brand.pk}/").status_code == 204
    assert len(callbacks) == 2  # once the deletion commits: the sweep task is sent, this process's hot caches cleared
    brand_erasures_sweep()  # what that task does on a worker
    assert store.list(brand_artifact_prefix(brand.pk)) == []
    assert len(store.list(brand_artifact_prefix(other.pk))) == 1
