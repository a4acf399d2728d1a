import pytest

from prefcontent.dashboard.views.base import SESSION_BRAND
from tests.factories import BrandFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def test_user_without_any_brand_sees_an_explanation(client, org, make_member):
    client.force_login(make_member(org, "owner"))
    response = client.get("/dashboard/")
    assert response.status_code == 200
    assert "No brand yet" in response.content.decode()


def test_brand_switcher_lists_own_brands_and_remembers_the_choice(brand, member):
    second = BrandFactory(organization=brand.organization, name="Second Brand")
    BrandFactory(name="Foreign Brand")
    _, client = member(brand.organization, "viewer")
    page = client.get("/dashboard/").content.decode()
    assert f'value="{brand.pk}"' in page and f'value="{second.pk}"' in page
    assert "Foreign Brand" not in page
    assert client.get(f"/dashboard/?brand={second.pk}").status_code == 200
    assert client.session[SESSION_BRAND] == second.pk
    assert "<h1>Settings · Second Brand</h1>" in client.get("/dashboard/settings/").content.decode()


def test_another_tenants_brand_id_answers_404(brand, member):
    other = BrandFactory(organization=OrganizationFactory())
    _, client = member(brand.organization, "owner")
    response = client.get(f"/dashboard/?brand={other.pk}")
    assert response.status_code == 404
    assert "Not found" in response.content.decode()
    assert client.get("/dashboard/?brand=abc").status_code == 404


def test_overview_shows_the_brands_recent_audit_entries(brand, member):
    _, client = member(brand.organization, "owner")
    client.post("/dashboard/settings/voice/", {"voice": "Bold.", "locale": "en-GB", "brand": brand.pk})
    page = client.get("/dashboard/").content.decode()
    assert "brand.update" in page
