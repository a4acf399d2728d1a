import pytest

from prefcontent.accounts.models import AuditLog
from prefcontent.content.models import Variant
from prefcontent.experiments.models import Experiment
from tests.factories import BrandFactory
from tests.prefcontent.dashboard.helpers import experiment, send_events, variants

pytestmark = pytest.mark.django_db

ROLES_THAT_WRITE = {"owner": True, "admin": True, "marketer": True, "viewer": False, "ops": False}


@pytest.mark.parametrize("role", ROLES_THAT_WRITE)
def test_list_and_detail_render_for_every_role_with_actions_only_for_writers(brand, member, role):
    running = experiment(brand, start=True)
    variants(brand, "Spare text")
    _, client = member(brand.organization, role)
    listing = client.get("/dashboard/experiments/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert running.name in html
    assert ("Create experiment" in html) is ROLES_THAT_WRITE[role]
    detail = client.get(f"/dashboard/experiments/{running.pk}/").content.decode()
    assert 'id="arms"' in detail and "<svg" in detail
    assert 'id="sequential"' in detail and 'data-field="sequential_p"' in detail  # the always-valid test
    assert ("Conclude</button>" in detail) is ROLES_THAT_WRITE[role]


def test_create_an_experiment_from_variants(brand, member):
    control, challenger, _ = variants(brand, "Control copy", "Challenger copy", "Unused copy")
    _, client = member(brand.organization, "marketer")
    body = {"brand": brand.pk, "name": "Subject test", "variants": [control.pk, challenger.pk],
            "control": control.pk, "allocation": "fixed", "primary_metric": "click", "min_sample_per_arm": 50}
    response = client.post("/dashboard/experiments/new/", body)
    created = Experiment.objects.get(brand=brand)
    assert response.status_code == 302 and response["Location"] == f"/dashboard/experiments/{created.pk}/"
    arms = list(created.arms.order_by("id").values_list("variant_id", "is_control"))
    assert arms == [(control.pk, True), (challenger.pk, False)]
    assert created.status == "draft" and created.min_sample_per_arm == 50
    assert AuditLog.objects.filter(action="experiment.create", target_id=str(created.pk)).exists()


def test_create_form_errors_inline(brand, member):
    control, challenger = variants(brand, "A copy", "B copy")
    _, client = member(brand.organization, "owner")
    base = {"brand": brand.pk, "name": "X", "allocation": "fixed", "primary_metric": "click",
            "min_sample_per_arm": 10}
    not_listed = client.post("/dashboard/experiments/new/", {**base, "variants": [challenger.pk], "control": control.pk})
    assert not_listed.status_code == 400
    assert "The control must be one of the chosen variants." in not_listed.content.decode()
    one_arm = client.post("/dashboard/experiments/new/", {**base, "variants": [control.pk], "control": control.pk})
    assert one_arm.status_code == 400 and "An experiment needs 2 to" in one_arm.content.decode()
    foreign = variants(BrandFactory(), "Theirs")[0]
    other = client.post("/dashboard/experiments/new/", {**base, "variants": [control.pk, foreign.pk], "control": control.pk})
    assert other.status_code == 400 and "Select a valid choice" in other.content.decode()
    assert not Experiment.objects.exists()


def test_add_variant_then_viewer_refused(brand, member):
    _, client = member(brand.organization, "marketer")
    assert client.post("/dashboard/experiments/variants/", {"brand": brand.pk, "text": "Fresh copy"}).status_code == 302
    assert Variant.objects.get(brand=brand).text == "Fresh copy"
    assert client.post("/dashboard/experiments/variants/", {"brand": brand.pk, "text": ""}).status_code == 400
    _, viewer = member(brand.organization, "viewer")
    assert viewer.post("/dashboard/experiments/variants/", {"brand": brand.pk, "text": "Nope"}).status_code == 403
    assert Variant.objects.count() == 1


def test_start_pause_resume_conclude_are_audited(brand, member):
    draft = experiment(brand, min_sample_per_arm=1)
    _, client = member(brand.organization, "marketer")
    for action, status in [("start", "running"), ("pause", "paused"), ("resume", "running"), ("conclude", "stopped")]:
        response = client.post(f"/dashboard/experiments/{draft.pk}/{action}/")
        assert response.status_code == 302
        draft.refresh_from_db()
        assert draft.status == status, action
    actions = set(AuditLog.objects.filter(target_id=str(draft.pk)).values_list("action", flat=True))
    assert {"experiment.start", "experiment.pause", "experiment.resume", "experiment.stopped"} <= actions
    page = client.get(f"/dashboard/experiments/{draft.pk}/").content.decode()
    assert 'id="decision"' in page and "inconclusive" in page
    again = client.post(f"/dashboard/experiments/{draft.pk}/start/", follow=True)
    assert "Cannot start an experiment that is stopped." in again.content.decode()


def test_viewer_cannot_act_and_another_tenants_experiment_answers_404(brand, member):
    mine = experiment(brand)
    theirs = experiment(BrandFactory())
    _, viewer = member(brand.organization, "viewer")
    assert viewer.post(f"/dashboard/experiments/{mine.pk}/start/").status_code == 403
    mine.refresh_from_db()
    assert mine.status == "draft"
    _, owner = member(brand.organization, "owner")
    for url in (f"/dashboard/experiments/{theirs.pk}/", f"/dashboard/experiments/{theirs.pk}/stats/"):
        assert owner.get(url).status_code == 404
    assert owner.post(f"/dashboard/experiments/{theirs.pk}/start/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "draft"


@pytest.mark.smoke
def test_stats_fragment_follows_events_and_stops_polling_once_ended(brand, member):
    running = experiment(brand, start=True, min_sample_per_arm=10)
    control, challenger = running.arms.order_by("id")
    _, client = member(brand.organization, "viewer")
    first = client.get(f"/dashboard/experiments/{running.pk}/stats/")
    assert "X-Poll-Done" not in first
    send_events(running, control, impressions=40, clicks=2)
    send_events(running, challenger, impressions=40, clicks=20)
    html = client.get(f"/dashboard/experiments/{running.pk}/stats/").content.decode()
    row = html.split(f'data-arm="{challenger.pk}"')[1].split("</tr>")[0]
    assert '<td class="num" data-field="impressions">40</td>' in row
    assert '<td class="num" data-field="clicks">20</td>' in row
    assert '<td class="num" data-field="rate">0.5000</td>' in row
    assert 'data-series="arm' in html  # the rate-over-time chart has a line now
    client_owner = member(brand.organization, "owner")[1]
    client_owner.post(f"/dashboard/experiments/{running.pk}/conclude/")
    done = client.get(f"/dashboard/experiments/{running.pk}/stats/")
    assert done["X-Poll-Done"] == "1"
    assert "winner" in done.content.decode()


def test_stats_fragment_reads_counters_and_roll_ups_not_raw_events(brand, member):
    """The polled page shows the same table and chart after the raw events are gone (as retention drops
    them): it reads the stored analysis, the arms' counters and the hourly roll-ups."""
    from prefcontent.experiments.models import Event

    running = experiment(brand, start=True, min_sample_per_arm=10)
    control, challenger = running.arms.order_by("id")
    send_events(running, control, impressions=30, clicks=3)
    send_events(running, challenger, impressions=30, clicks=9)
    _, client = member(brand.organization, "viewer")

    def shown():
        html = client.get(f"/dashboard/experiments/{running.pk}/stats/").content.decode()
        row = html.split(f'data-arm="{challenger.pk}"')[1].split("</tr>")[0]
        chart = html.split('data-series="arm')[1].split("</g>")[0]
        return row, chart

    before = shown()
    assert '<td class="num" data-field="clicks">9</td>' in before[0]
    Event.objects.filter(experiment=running).delete()
    assert shown() == before
    send_events(running, challenger, impressions=10, prefix="later")  # new events still move the page
    assert '<td class="num" data-field="impressions">40</td>' in shown()[0]
