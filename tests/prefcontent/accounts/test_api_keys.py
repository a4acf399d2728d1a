from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from prefcontent.accounts.models import ApiKey
from tests.conftest import client_for_key


def _create_key(owner_client, brand, scopes=("content:read",), **extra):
    response = owner_client.post("/api/v1/api-keys/", {"brand": brand.pk, "name": "cms", "scopes": list(scopes), **extra},
                                 format="json")
    assert response.status_code == 201, response.content
    return response.json()


@pytest.mark.smoke
def test_key_is_shown_once_and_only_its_hash_is_stored(owner_client, brand, caplog):
    body = _create_key(owner_client, brand)
    secret = body["key"]
    assert secret.startswith("pck_") and body["prefix"] in secret
    listed = owner_client.get(f"/api/v1/api-keys/{body['id']}/").json()
    assert "key" not in listed
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apikey")
        rows = cursor.fetchall()
    assert secret not in repr(rows)
    assert secret[-20:] not in repr(rows)
    client_for_key(secret).get("/api/v1/brands/")
    assert secret not in caplog.text


def test_scopes_gate_endpoints(brand, make_key):
    no_read = make_key(brand, scopes=["events:write"])
    response = client_for_key(no_read).get("/api/v1/brands/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "missing_scope"
    reader = make_key(brand, scopes=["content:read"])
    response = client_for_key(reader).get("/api/v1/brands/")
    assert response.status_code == 200
    assert [b["id"] for b in response.json()["results"]] == [brand.pk]


def test_unknown_scope_is_rejected(owner_client, brand):
    response = owner_client.post("/api/v1/api-keys/", {"brand": brand.pk, "name": "x", "scopes": ["root"]}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_expired_key_is_refused(brand, make_key):
    key = make_key(brand, expires_at=timezone.now() - timedelta(seconds=1))
    response = client_for_key(key).get("/api/v1/brands/")
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "authentication_failed"
    assert "expired" in response.json()["error"]["message"]


def test_expiry_must_be_in_the_future(owner_client, brand):
    past = (timezone.now() - timedelta(days=1)).isoformat()
    response = owner_client.post("/api/v1/api-keys/", {"brand": brand.pk, "name": "x", "scopes": ["assign"],
                                                         "expires_at": past}, format="json")
    assert response.status_code == 400


def test_revoked_key_is_refused_and_revocation_is_audited(owner_client, brand):
    body = _create_key(owner_client, brand)
    assert client_for_key(body["key"]).get("/api/v1/brands/").status_code == 200
    response = owner_client.post(f"/api/v1/api-keys/{body['id']}/revoke/")
    assert response.status_code == 200 and response.json()["revoked_at"]
    refused = client_for_key(body["key"]).get("/api/v1/brands/")
    assert refused.status_code in (401, 403)
    assert "revoked" in refused.json()["error"]["message"]
    actions = [e["action"] for e in owner_client.get("/api/v1/audit-log/").json()["results"]]
    assert "api_key.revoke" in actions and "api_key.create" in actions


def test_wrong_secret_with_valid_prefix_is_refused(brand, make_key):
    key = make_key(brand)
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    assert client_for_key(forged).get("/api/v1/brands/").status_code in (401, 403)


def test_last_use_is_recorded(brand, make_key):
    key = make_key(brand)
    client_for_key(key).get("/api/v1/brands/")
    assert ApiKey.objects.get(brand=brand).last_used_at is not None


def test_only_owner_and_admin_manage_keys(org, brand, make_member):
    from tests.conftest import client_for_user

    for role, expected in [("admin", 201), ("marketer", 403), ("ops", 403), ("viewer", 403)]:
        client = client_for_user(make_member(org, role))
        response = client.post("/api/v1/api-keys/", {"brand": brand.pk, "name": role, "scopes": ["assign"]},
                               format="json")
        assert response.status_code == expected, (role, response.content)
