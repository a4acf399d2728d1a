import pytest

from prefcontent.accounts.models import AuditLog
from prefcontent.brands.compliance_models import ComplianceRule
from tests.factories import BrandFactory

pytestmark = pytest.mark.django_db


def test_marketer_adds_toggles_and_deletes_a_rule(brand, member):
    _, client = member(brand.organization, "marketer")
    body = {"brand": brand.pk, "kind": "banned_phrase", "pattern": "guaranteed", "channel": "", "message": ""}
    assert client.post("/dashboard/settings/rules/", body).status_code == 302
    rule = ComplianceRule.objects.get(brand=brand)
    assert (rule.kind, rule.pattern, rule.is_active) == ("banned_phrase", "guaranteed", True)
    assert "<code>guaranteed</code>" in client.get("/dashboard/settings/").content.decode()
    client.post(f"/dashboard/settings/rules/{rule.pk}/toggle/")
    rule.refresh_from_db()
    assert rule.is_active is False
    client.post(f"/dashboard/settings/rules/{rule.pk}/delete/")
    assert not ComplianceRule.objects.exists()
    actions = set(AuditLog.objects.filter(brand_id=brand.pk).values_list("action", flat=True))
    assert {"compliance_rule.create", "compliance_rule.update", "compliance_rule.delete"} <= actions


def test_invalid_rule_shows_the_services_message_inline(brand, member):
    _, client = member(brand.organization, "owner")
    response = client.post("/dashboard/settings/rules/", {"brand": brand.pk, "kind": "regex", "pattern": "(unclosed"})
    assert response.status_code == 400
    assert "not a valid regular expression" in response.content.decode()
    missing = client.post("/dashboard/settings/rules/", {"brand": brand.pk, "kind": "max_discount"})
    assert missing.status_code == 400 and "needs a limit" in missing.content.decode()
    assert not ComplianceRule.objects.exists()


def test_viewer_cannot_change_rules_and_other_tenants_rules_answer_404(brand, member):
    mine = ComplianceRule.objects.create(brand=brand, kind="banned_phrase", pattern="free")
    theirs = ComplianceRule.objects.create(brand=BrandFactory(), kind="banned_phrase", pattern="cheap")
    _, viewer = member(brand.organization, "viewer")
    page = viewer.get("/dashboard/settings/").content.decode()
    assert "<code>free</code>" in page and "Add rule" not in page and "<code>cheap</code>" not in page
    assert viewer.post("/dashboard/settings/rules/", {"brand": brand.pk, "kind": "banned_phrase", "pattern": "x"}).status_code == 403
    assert viewer.post(f"/dashboard/settings/rules/{mine.pk}/toggle/").status_code == 403
    assert viewer.post(f"/dashboard/settings/rules/{mine.pk}/delete/").status_code == 403
    _, owner = member(brand.organization, "owner")
    assert owner.post(f"/dashboard/settings/rules/{theirs.pk}/toggle/").status_code == 404
    assert owner.post(f"/dashboard/settings/rules/{theirs.pk}/delete/").status_code == 404
    assert ComplianceRule.objects.count() == 2 and ComplianceRule.objects.get(pk=mine.pk).is_active
