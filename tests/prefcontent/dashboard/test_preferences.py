import pytest
from django.urls import reverse

from prefcontent.accounts.models import AuditLog
from prefcontent.preferences.building import pairs_build
from prefcontent.preferences.models import DatasetSnapshot, PreferencePair
from tests.factories import BrandFactory
from tests.prefcontent.dashboard.helpers import concluded_with_winner, experiment

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ["owner", "marketer", "viewer", "ops"])
def test_page_renders_for_every_role_with_snapshot_form_for_training_writers(brand, member, role):
    decided = concluded_with_winner(brand)
    pairs_build(experiment_ids=[decided.pk])
    _, client = member(brand.organization, role)
    response = client.get("/dashboard/preferences/")
    assert response.status_code == 200
    html = response.content.decode()
    pair = PreferencePair.objects.get(brand=brand)
    assert f'data-pair="{pair.pk}"' in html and "P(better)" in html
    assert 'id="bias-report"' in html
    assert ("Freeze snapshot" in html) is (role != "viewer")


def test_build_pairs_from_the_experiment_page_then_freeze_and_export(brand, member):
    decided = concluded_with_winner(brand)
    _, client = member(brand.organization, "marketer")
    assert "Build preference pairs" in client.get(f"/dashboard/experiments/{decided.pk}/").content.decode()
    response = client.post(f"/dashboard/experiments/{decided.pk}/pairs/")
    assert response.status_code == 302 and response["Location"] == f"/dashboard/preferences/?experiment={decided.pk}"
    assert PreferencePair.objects.filter(experiment=decided).count() == 1
    assert AuditLog.objects.filter(action="preference_pairs.build").exists()
    filtered = client.get(response["Location"]).content.decode()
    assert filtered.count('data-pair="') == 1

    assert client.post("/dashboard/preferences/snapshots/", {"brand": brand.pk, "name": "first",
                                                             "holdout_fraction": 0}).status_code == 302
    snapshot = DatasetSnapshot.objects.get(brand=brand)
    assert snapshot.counts["pairs"] == 1 and snapshot.name == "first"
    page = client.get("/dashboard/preferences/").content.decode()
    link = reverse("dataset-snapshot-export", args=[snapshot.pk]) + "?kind=dpo"
    assert link in page
    exported = b"".join(client.get(link).streaming_content).decode()
    assert '"chosen"' in exported and exported.count("\n") == 1


def test_snapshot_errors_inline_and_refused_to_viewer(brand, member):
    _, owner = member(brand.organization, "owner")
    empty = owner.post("/dashboard/preferences/snapshots/", {"brand": brand.pk, "holdout_fraction": 0.1})
    assert empty.status_code == 400
    assert "This brand has no usable preference pairs to snapshot." in empty.content.decode()
    bad = owner.post("/dashboard/preferences/snapshots/", {"brand": brand.pk, "holdout_fraction": 2})
    assert bad.status_code == 400 and 'class="error" role="alert"' in bad.content.decode()
    decided = concluded_with_winner(brand)
    pairs_build(experiment_ids=[decided.pk])
    _, viewer = member(brand.organization, "viewer")
    assert viewer.post("/dashboard/preferences/snapshots/", {"brand": brand.pk, "holdout_fraction": 0}).status_code == 403
    assert viewer.post(f"/dashboard/experiments/{decided.pk}/pairs/", {"rebuild": "1"}).status_code == 403
    assert not DatasetSnapshot.objects.exists()


def test_filters_and_other_tenants(brand, member):
    other_brand = BrandFactory()
    theirs = concluded_with_winner(other_brand, name="Theirs")
    pairs_build(experiment_ids=[theirs.pk])
    draft = experiment(brand)
    _, client = member(brand.organization, "owner")
    html = client.get(f"/dashboard/preferences/?experiment={theirs.pk}").content.decode()
    assert 'data-pair="' not in html  # another tenant's pairs never show, even when asked for
    assert client.post(f"/dashboard/experiments/{theirs.pk}/pairs/").status_code == 404
    follow = client.post(f"/dashboard/experiments/{draft.pk}/pairs/", follow=True)
    assert "Only an experiment concluded with a winner has preference pairs." in follow.content.decode()
    assert client.get("/dashboard/preferences/?status=excluded&reason=near_duplicate").status_code == 200


def test_repair_pairs_show_the_rule_they_teach_instead_of_test_counts(brand, member):
    from prefcontent.brands.compliance_models import ComplianceRule

    brand.settings = {**brand.settings, "pairs_from_repairs": True}
    brand.save()
    ComplianceRule.objects.create(brand=brand, kind="required_disclaimer", pattern="T&Cs apply")
    decided = concluded_with_winner(brand)
    pairs_build(experiment_ids=[decided.pk])
    _, client = member(brand.organization, "viewer")
    html = client.get("/dashboard/preferences/").content.decode()
    assert html.count('data-ordering="repair"') == 2
    assert "rule repair: lacks the required disclaimer &#x27;T&amp;Cs apply&#x27;" in html


def test_a_pair_excluded_for_an_unbacked_claim_shows_the_claim_and_why(brand, member):
    from prefcontent.content.models import Brief
    from tests.prefcontent.preferences.factories import clear_win

    decided = clear_win(brand, winner="Free shipping on running shoes")
    Brief.objects.filter(pk=decided.brief_id).update(facts={"offer": {"discount_percent": 10}})
    pairs_build(experiment_ids=[decided.pk])
    _, client = member(brand.organization, "marketer")
    html = client.get("/dashboard/preferences/?reason=unsupported_claim").content.decode()
    assert 'data-reason="unsupported_claim"' in html and 'data-claim="shipping"' in html
    assert "claims free shipping; the offer has none" in html
