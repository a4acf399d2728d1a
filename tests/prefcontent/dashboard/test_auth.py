import pytest

from tests.factories import PASSWORD, MembershipFactory

pytestmark = pytest.mark.django_db


def test_pages_require_login(client):
    response = client.get("/dashboard/settings/")
    assert response.status_code == 302
    assert response["Location"].startswith("/dashboard/login/?next=/dashboard/settings/")


@pytest.mark.smoke
def test_login_with_valid_credentials_lands_on_overview(client, brand):
    user = MembershipFactory(organization=brand.organization, role="viewer").user
    response = client.post("/dashboard/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    page = client.get("/dashboard/")
    assert page.status_code == 200
    assert brand.name in page.content.decode()


def test_login_with_a_wrong_password_shows_an_inline_error(client, brand):
    user = MembershipFactory(organization=brand.organization).user
    response = client.post("/dashboard/login/", {"username": user.username, "password": "nope"})
    assert response.status_code == 200
    assert 'class="errors form-errors"' in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logout_ends_the_session(client, brand):
    user = MembershipFactory(organization=brand.organization).user
    client.force_login(user)
    assert client.get("/dashboard/logout/").status_code == 405  # logout is a POST (CSRF-protected)
    response = client.post("/dashboard/logout/")
    assert response.status_code == 302
    assert client.get("/dashboard/").status_code == 302


def test_forms_carry_a_csrf_token_and_posts_without_it_are_refused(brand):
    from django.test import Client

    user = MembershipFactory(organization=brand.organization).user
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert "csrfmiddlewaretoken" in strict.get("/dashboard/settings/").content.decode()
    assert strict.post("/dashboard/settings/voice/", {"voice": "x", "locale": "en-US"}).status_code == 403
