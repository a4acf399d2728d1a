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


def test_wrong_passwords_lock_the_username_with_a_growing_backoff(api, owner, settings):
    """The token endpoint's brute-force guard is per username, so rotating addresses does not help."""
    from prefcontent.accounts.lockout import login_failed, login_locked_for

    settings.LOGIN_MAX_FAILURES, settings.LOGIN_LOCKOUT_SECONDS = 3, 60
    wrong = {"username": owner.username, "password": "nope"}
    codes = [api.post("/api/v1/auth/token", wrong, format="json", REMOTE_ADDR=f"192.0.2.{i}").status_code
             for i in range(3)]
    assert codes == [403, 403, 403]  # AuthenticationFailed without an authenticator to challenge: 403
    locked = api.post("/api/v1/auth/token", {"username": owner.username.upper(), "password": PASSWORD},
                      format="json")
    assert locked.status_code == 429 and locked.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(locked["Retry-After"]) <= 61
    first = login_locked_for(owner.username)
    login_failed(owner.username)  # one more wrong password while locked doubles the lock
    assert login_locked_for(owner.username) > first + 50
    # The dashboard login (Django's LoginView) goes through the same backend.
    assert not api.login(username=owner.username, password=PASSWORD)


def test_a_right_password_before_the_lock_clears_the_count(api, owner, settings):
    settings.LOGIN_MAX_FAILURES = 3
    wrong = {"username": owner.username, "password": "nope"}
    for _ in range(2):
        assert api.post("/api/v1/auth/token", wrong, format="json").status_code == 403
    right = {"username": owner.username, "password": PASSWORD}
    assert api.post("/api/v1/auth/token", right, format="json").status_code == 201
    for _ in range(2):
        assert api.post("/api/v1/auth/token", wrong, format="json").status_code == 403
    assert api.post("/api/v1/auth/token", right, format="json").status_code == 201
