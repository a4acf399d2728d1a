from tests.conftest import client_for_user
from tests.factories import UserFactory


def test_owner_adds_changes_and_removes_members(owner_client, org):
    newcomer = UserFactory()
    created = owner_client.post("/api/v1/members/", {"organization": org.pk, "username": newcomer.username,
                                                     "role": "marketer"}, format="json")
    assert created.status_code == 201
    mid = created.json()["id"]
    assert owner_client.patch(f"/api/v1/members/{mid}/", {"role": "ops"}, format="json").json()["role"] == "ops"
    duplicate = owner_client.post("/api/v1/members/", {"organization": org.pk, "username": newcomer.username,
                                                       "role": "viewer"}, format="json")
    assert duplicate.status_code == 409
    assert owner_client.delete(f"/api/v1/members/{mid}/").status_code == 204


def test_last_owner_cannot_be_demoted(owner_client, org, owner):
    mid = owner.memberships.get(organization=org).pk
    response = owner_client.patch(f"/api/v1/members/{mid}/", {"role": "viewer"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "last_owner"


def test_marketer_cannot_manage_members(org, make_member):
    client = client_for_user(make_member(org, "marketer"))
    response = client.post("/api/v1/members/", {"organization": org.pk, "username": UserFactory().username,
                                                "role": "viewer"}, format="json")
    assert response.status_code == 403


def test_creating_an_organization_makes_you_its_owner(owner_client):
    response = owner_client.post("/api/v1/organizations/", {"name": "Second"}, format="json")
    assert response.status_code == 201
    assert response.json()["slug"] == "second"
    me = owner_client.get("/api/v1/me").json()
    assert me["roles"][str(response.json()["id"])] == "owner"
