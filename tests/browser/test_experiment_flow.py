import pytest
from django.utils import timezone

from prefcontent.experiments.models import Experiment
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, ApiKeyFactory, BrandFactory, MembershipFactory
from tests.prefcontent.dashboard.helpers import variants

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _events(experiment, arm, kind, count, prefix):
    now = timezone.now().isoformat()
    return [{"event_id": f"{prefix}-{arm.pk}-{kind}-{n}", "experiment": experiment.pk, "arm": arm.pk, "type": kind,
             "unit_id": f"{prefix}-{n}", "timestamp": now} for n in range(count)]


def test_create_an_experiment_from_variants_and_watch_stats_change(page, shot):
    membership = MembershipFactory(role="marketer")
    brand = BrandFactory(organization=membership.organization)
    control, challenger = variants(brand, "Walk further in dry shoes", "Rain? Your feet will not notice")
    key = ApiKeyFactory.issue(brand=brand, scopes=["events:write"])
    log_in(page, membership.user.username, PASSWORD)

    page.goto("/dashboard/experiments/")
    page.fill("#id_name", "Rain headline")
    page.check(f"input[name=variants][value='{control.pk}']")
    page.check(f"input[name=variants][value='{challenger.pk}']")
    page.select_option("#id_control", str(control.pk))
    page.fill("#id_min_sample_per_arm", "5")
    shot(page, "experiments_list")
    page.click("#new-experiment button[type=submit]")
    page.wait_for_selector("#experiment-status")
    experiment = Experiment.objects.get(brand=brand)
    assert page.inner_text("#experiment-status") == "draft"

    page.click("text=Start")
    page.wait_for_selector("#experiment-status:text('running')")
    arms = list(experiment.arms.order_by("id"))
    cell = f"tr[data-arm='{arms[1].pk}'] td[data-field='impressions']"
    assert page.inner_text(cell) == "0"

    events = _events(experiment, arms[0], "impression", 12, "a") + _events(experiment, arms[1], "impression", 12, "a")
    events += _events(experiment, arms[1], "click", 7, "a")
    response = page.request.post("/api/v1/events", data={"events": events}, headers={"X-API-Key": key})
    assert response.ok and response.json()["accepted"] == 31
    page.wait_for_function(f"document.querySelector(\"{cell}\").textContent === '12'")  # polled, no reload
    assert page.inner_text(f"tr[data-arm='{arms[1].pk}'] td[data-field='clicks']") == "7"
    assert page.locator("#experiment-stats svg polyline.series").count() >= 1
    shot(page, "experiment_running_with_events")

    more = _events(experiment, arms[1], "impression", 12, "b")
    assert page.request.post("/api/v1/events", data={"events": more}, headers={"X-API-Key": key}).ok
    page.wait_for_function(f"document.querySelector(\"{cell}\").textContent === '24'")

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#experiment-stats ~ * button.danger, .actions button.danger")
    page.wait_for_selector("#decision")
    experiment.refresh_from_db()
    assert experiment.status in ("concluded", "stopped")
    shot(page, "experiment_decided")
    page.goto("/dashboard/preferences/")
    shot(page, "preferences")
