import pytest

from prefcontent.accounts.models import UserToken
from tests.factories import PASSWORD


@pytest.mark.smoke
def test_token_login_use_and_revoke(api, owner, brand):
    response = api.post("/api/v1/auth/token", {"username": owner.username, "password": PASSWORD}, format="json")
    assert response.status_code == 201
    token = response.json()["token"]
    assert token.startswith("pcu_")
    assert not UserToken.objects.filter(secret_hash=token).exists()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    me = api.get("/api/v1/me").json()
    assert me["kind"] == "user" and me["username"] == owner.username
    assert api.post("/api/v1/auth/token/revoke").status_code == 204
    assert api.get("/api/v1/me").status_code in (401, 403)


def test_wrong_password_is_401_in_error_shape(api, owner):
    response = api.post("/api/v1/auth/token", {"username": owner.username, "password": "nope"}, format="json")
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "authentication_failed"


def test_anonymous_is_refused(api, brand):
    response = api.get("/api/v1/brands/")
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "not_authenticated"


def test_session_login_works_for_the_api(client, owner):
    assert client.login(username=owner.username, password=PASSWORD)
    assert client.get("/api/v1/me").json()["kind"] == "user"
