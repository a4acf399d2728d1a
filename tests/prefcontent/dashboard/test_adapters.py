import pytest

from prefcontent.accounts.models import AuditLog
from tests.factories import BrandFactory
from tests.prefcontent.dashboard.helpers import GATE_FAILED, adapter

pytestmark = pytest.mark.django_db
PROMOTERS = {"owner": True, "admin": True, "ops": True, "marketer": False, "viewer": False}


@pytest.mark.parametrize("role", PROMOTERS)
def test_list_detail_and_confirmation_by_role(brand, member, role):
    adapter(brand, 1, "active")
    candidate = adapter(brand, 2, "candidate")
    _, client = member(brand.organization, role)
    listing = client.get("/dashboard/adapters/").content.decode()
    assert 'data-adapter="1"' in listing and 'data-adapter="2"' in listing
    assert 'id="gate-comparison"' in listing and listing.count('data-check="reward_accuracy"') == 1
    detail = client.get(f"/dashboard/adapters/{candidate.pk}/").content.decode()
    assert "copy adapter v2" in detail  # the model card
    assert ("Promote v2" in detail) is PROMOTERS[role]
    confirm = client.get(f"/dashboard/adapters/{candidate.pk}/promote/")
    assert confirm.status_code == (200 if PROMOTERS[role] else 403)


def test_side_by_side_comparison_of_chosen_versions(brand, member):
    first = adapter(brand, 1, "retired")
    adapter(brand, 2, "active")
    rejected = adapter(brand, 3, "rejected", report=GATE_FAILED)
    _, client = member(brand.organization, "viewer")
    html = client.get(f"/dashboard/adapters/?compare={first.pk}&compare={rejected.pk}").content.decode()
    table = html.split('id="gate-comparison"')[1]
    assert "v1 <span" in table and "v3 <span" in table and "v2 <span" not in table
    assert "✓ 0.71" in table and "✗ 0.41" in table


def test_promote_then_roll_back_with_audit(brand, member):
    old = adapter(brand, 1, "active")
    new = adapter(brand, 2, "candidate")
    _, client = member(brand.organization, "ops")
    assert client.post(f"/dashboard/adapters/{new.pk}/promote/").status_code == 302
    old.refresh_from_db(), new.refresh_from_db()
    assert (old.status, new.status) == ("retired", "active")
    assert "Roll back to v1" in client.get(f"/dashboard/adapters/{old.pk}/").content.decode()
    assert client.post(f"/dashboard/adapters/{old.pk}/rollback/").status_code == 302
    old.refresh_from_db(), new.refresh_from_db()
    assert (old.status, new.status) == ("active", "retired")
    assert {"adapter.promote", "adapter.rollback"} <= set(AuditLog.objects.values_list("action", flat=True))


def test_rejected_adapter_cannot_be_promoted_and_roles_and_tenants_hold(brand, member):
    rejected = adapter(brand, 1, "rejected", report=GATE_FAILED)
    candidate = adapter(brand, 2, "candidate")
    theirs = adapter(BrandFactory(), 1, "candidate")
    _, ops = member(brand.organization, "ops")
    follow = ops.post(f"/dashboard/adapters/{rejected.pk}/promote/", follow=True).content.decode()
    assert "only a candidate or retired version can be promoted" in follow
    _, marketer = member(brand.organization, "marketer")
    assert marketer.post(f"/dashboard/adapters/{candidate.pk}/promote/").status_code == 403
    for url in (f"/dashboard/adapters/{theirs.pk}/", f"/dashboard/adapters/{theirs.pk}/promote/"):
        assert ops.get(url).status_code == 404
    assert ops.post(f"/dashboard/adapters/{theirs.pk}/promote/").status_code == 404
    candidate.refresh_from_db(), theirs.refresh_from_db()
    assert candidate.status == "candidate" and theirs.status == "candidate"


def test_an_adapter_of_another_base_is_flagged_and_cannot_be_promoted(brand, member):
    adapter(brand, 1, "active", base_model_id="/models/an-earlier-base")
    other = adapter(brand, 2, "candidate", base_model_id="/models/an-earlier-base")
    _, client = member(brand.organization, "ops")
    listing = client.get("/dashboard/adapters/").content.decode()
    assert 'data-other-base="1"' in listing and 'data-other-base="2"' in listing
    assert 'data-base-mismatch="1"' in listing and "Generation with it is refused" in listing
    detail = client.get(f"/dashboard/adapters/{other.pk}/").content.decode()
    assert 'data-base-mismatch="2"' in detail and "cannot be served or promoted" in detail
    response = client.post(f"/dashboard/adapters/{other.pk}/promote/", follow=True)
    other.refresh_from_db()
    assert other.status == "candidate" and "was trained on the base model /models/an-earlier-base" in (
        response.content.decode())
