import pytest

from prefcontent.accounts.models import ApiKey, AuditLog, Membership
from tests.factories import ApiKeyFactory, BrandFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _key_body(brand, **extra):
    return {"brand": brand.pk, "name": "cms", "scopes": ["assign", "events:write"], **extra}


def test_every_role_sees_the_settings_page_but_only_admins_get_forms(brand, member):
    for role, can_manage in [("owner", True), ("admin", True), ("marketer", False), ("viewer", False),
                             ("ops", False)]:
        _, client = member(brand.organization, role)
        page = client.get("/dashboard/settings/")
        assert page.status_code == 200
        html = page.content.decode()
        assert ("Create key" in html) is can_manage, role
        assert ("Add member" in html) is can_manage, role
        assert ("Save voice" in html) is (role in ("owner", "admin", "marketer")), role


@pytest.mark.smoke
def test_created_key_is_shown_once_and_audited(brand, member):
    _, client = member(brand.organization, "owner")
    response = client.post("/dashboard/settings/keys/", _key_body(brand))
    assert response.status_code == 200
    html = response.content.decode()
    key = ApiKey.objects.get(brand=brand)
    plaintext = html.split('<code id="issued-key">')[1].split("</code>")[0]
    assert key.prefix in plaintext and len(plaintext) > 40
    assert key.scopes == ["assign", "events:write"]
    assert plaintext not in client.get("/dashboard/settings/").content.decode()
    assert AuditLog.objects.filter(action="api_key.create", brand_id=brand.pk).count() == 1


def test_key_form_errors_are_shown_inline(brand, member):
    _, client = member(brand.organization, "owner")
    response = client.post("/dashboard/settings/keys/", {"brand": brand.pk, "name": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert html.count('class="error" role="alert"') == 2  # name and scopes
    past = client.post("/dashboard/settings/keys/", _key_body(brand, expires_at="2001-01-01T00:00"))
    assert past.status_code == 400
    assert "expires_at must be in the future." in past.content.decode()
    assert not ApiKey.objects.exists()


def test_viewer_cannot_create_or_revoke_keys(brand, member):
    ApiKeyFactory.issue(brand=brand)
    key = ApiKey.objects.get()
    _, client = member(brand.organization, "viewer")
    assert client.post("/dashboard/settings/keys/", _key_body(brand)).status_code == 403
    assert client.post(f"/dashboard/settings/keys/{key.pk}/revoke/").status_code == 403
    key.refresh_from_db()
    assert ApiKey.objects.count() == 1 and key.revoked_at is None


def test_owner_revokes_a_key_and_another_tenants_key_answers_404(brand, member):
    ApiKeyFactory.issue(brand=brand)
    ApiKeyFactory.issue(brand=BrandFactory())
    mine, theirs = ApiKey.objects.order_by("id")
    _, client = member(brand.organization, "owner")
    assert client.post(f"/dashboard/settings/keys/{theirs.pk}/revoke/").status_code == 404
    response = client.post(f"/dashboard/settings/keys/{mine.pk}/revoke/")
    assert response.status_code == 302
    mine.refresh_from_db(), theirs.refresh_from_db()
    assert mine.revoked_at is not None and theirs.revoked_at is None
    assert AuditLog.objects.filter(action="api_key.revoke", target_id=str(mine.pk)).exists()
    assert "revoked" in client.get("/dashboard/settings/").content.decode()


def test_members_add_change_role_and_remove(brand, member):
    _, client = member(brand.organization, "owner")
    newcomer = UserFactory(username="newcomer")
    response = client.post("/dashboard/settings/members/", {"brand": brand.pk, "username": "newcomer", "role": "viewer"})
    assert response.status_code == 302
    membership = Membership.objects.get(user=newcomer)
    assert membership.role == "viewer"
    client.post(f"/dashboard/settings/members/{membership.pk}/role/", {"role": "marketer"})
    membership.refresh_from_db()
    assert membership.role == "marketer"
    client.post(f"/dashboard/settings/members/{membership.pk}/remove/")
    assert not Membership.objects.filter(pk=membership.pk).exists()
    actions = set(AuditLog.objects.values_list("action", flat=True))
    assert {"member.add", "member.role_change", "member.remove"} <= actions


def test_member_errors_inline_and_last_owner_kept(brand, member):
    owner, client = member(brand.organization, "owner")
    response = client.post("/dashboard/settings/members/", {"brand": brand.pk, "username": "ghost", "role": "viewer"})
    assert response.status_code == 400
    assert "No user named &#x27;ghost&#x27;." in response.content.decode()
    mine = Membership.objects.get(user=owner)
    follow = client.post(f"/dashboard/settings/members/{mine.pk}/role/", {"role": "viewer"}, follow=True)
    assert "An organization needs at least one owner." in follow.content.decode()
    mine.refresh_from_db()
    assert mine.role == "owner"


def test_members_of_another_tenant_answer_404_and_viewers_cannot_manage(brand, member):
    foreign = MembershipFactory(role="viewer")
    colleague = MembershipFactory(organization=brand.organization, role="viewer")
    _, owner_client = member(brand.organization, "owner")
    assert owner_client.post(f"/dashboard/settings/members/{foreign.pk}/role/", {"role": "admin"}).status_code == 404
    assert owner_client.post(f"/dashboard/settings/members/{foreign.pk}/remove/").status_code == 404
    _, viewer_client = member(brand.organization, "viewer")
    assert viewer_client.post(f"/dashboard/settings/members/{colleague.pk}/role/", {"role": "admin"}).status_code == 403
    assert viewer_client.post(f"/dashboard/settings/members/{colleague.pk}/remove/").status_code == 403
    assert viewer_client.post("/dashboard/settings/members/", {"username": foreign.user.username, "role": "admin"}).status_code == 403
    foreign.refresh_from_db(), colleague.refresh_from_db()
    assert foreign.role == "viewer" and colleague.role == "viewer"


def test_brand_voice_saved_by_marketer_and_refused_to_viewer(brand, member):
    _, marketer = member(brand.organization, "marketer")
    assert marketer.post("/dashboard/settings/voice/", {"brand": brand.pk, "voice": "Warm.", "locale": "de-DE"}).status_code == 302
    brand.refresh_from_db()
    assert (brand.voice, brand.locale) == ("Warm.", "de-DE")
    assert AuditLog.objects.filter(action="brand.update", brand_id=brand.pk).exists()
    invalid = marketer.post("/dashboard/settings/voice/", {"brand": brand.pk, "voice": "x", "locale": ""})
    assert invalid.status_code == 400 and 'class="error" role="alert"' in invalid.content.decode()
    _, viewer = member(brand.organization, "viewer")
    assert viewer.post("/dashboard/settings/voice/", {"brand": brand.pk, "voice": "Loud!", "locale": "en-US"}).status_code == 403
    brand.refresh_from_db()
    assert brand.voice == "Warm."


def test_a_form_naming_another_tenants_brand_answers_404(brand, member):
    other = BrandFactory()
    _, client = member(brand.organization, "owner")
    assert client.post("/dashboard/settings/keys/", _key_body(other)).status_code == 404
    assert client.post("/dashboard/settings/voice/", {"brand": other.pk, "voice": "Mine now", "locale": "en-US"}).status_code == 404
    other.refresh_from_db()
    assert not ApiKey.objects.exists() and other.voice != "Mine now"


SETTINGS_URL = "/dashboard/settings/brand/"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("decision_threshold", "high", "Enter a number."),
    ("decision_threshold", "1e308", "must be a number in (0, 1]."),
    ("decision_threshold", "-1", "must be a number in (0, 1]."),
    ("alpha", "x", "Enter a number."),
    ("srm_p", "{}", "Enter a number."),
    ("srm_p", "1", "must be a number in (0, 1)."),
    ("pair_min_prob", "x", "Enter a number."),
    ("compliance_mode", "nonsense", "Select a valid choice."),
])
def test_brand_settings_form_refuses_bad_values_on_their_field(brand, member, field, value, message):
    brand.settings = {"decision_threshold": 0.9}
    brand.save()
    _, client = member(brand.organization, "owner")
    response = client.post(SETTINGS_URL, {"brand": brand.pk, "alpha": "0.01", field: value})
    assert response.status_code == 400
    html = response.content.decode()
    field_html = html.split(f'id="id_{field}"')[1].split('<div class="field')[0]
    assert message in field_html
    brand.refresh_from_db()
    assert brand.settings == {"decision_threshold": 0.9}


def test_brand_settings_form_saves_what_it_edits_and_keeps_the_rest(brand, member):
    brand.settings = {"auto_promote": False, "simulation_history": [{"round": 0, "true_ctr": 0.05}],
                      "decision_threshold": 0.9, "pair_min_lift": 0.5}
    brand.save()
    _, client = member(brand.organization, "admin")
    page = client.get("/dashboard/settings/").content.decode()
    assert 'value="0.9"' in page and "Save settings" in page
    response = client.post(SETTINGS_URL, {"brand": brand.pk, "decision_threshold": "0.99", "pair_min_lift": "",
                                          "pairs_from_repairs": "true", "compliance_mode": "flag",
                                          "allowed_origins": "https://shop.example.com\n*"})
    assert response.status_code == 302
    brand.refresh_from_db()
    assert brand.settings == {"auto_promote": False, "simulation_history": [{"round": 0, "true_ctr": 0.05}],
                              "decision_threshold": 0.99, "pairs_from_repairs": True, "compliance_mode": "flag",
                              "allowed_origins": ["https://shop.example.com", "*"]}
    assert AuditLog.objects.filter(action="brand.update", brand_id=brand.pk).exists()


def test_viewers_see_the_settings_in_effect_but_cannot_change_them(brand, member):
    _, client = member(brand.organization, "viewer")
    page = client.get("/dashboard/settings/").content.decode()
    assert "Save settings" not in page and "<th>Decision threshold</th><td>0.95</td>" in page
    assert client.post(SETTINGS_URL, {"brand": brand.pk, "decision_threshold": "0.5"}).status_code == 403
    brand.refresh_from_db()
    assert brand.settings == {}
