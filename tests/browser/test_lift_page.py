import pytest

from tests.browser.conftest import log_in
from tests.factories import PASSWORD, BrandFactory, MembershipFactory
from tests.prefcontent.experiments.lift_data import weekly_history

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_lift_page_draws_lift_by_week_with_its_band_per_channel(page, shot):
    membership = MembershipFactory(role="marketer")
    brand = BrandFactory(organization=membership.organization, name="Lift Brand",
                         settings={"lift_alert_weeks": 2})
    # Headlines: a clear lift that decays week by week; push: no lift for weeks (the alert).
    weekly_history(brand, [0.45, 0.4, 0.32, 0.25, 0.2], treated=9500, held=500, holdout_rate=0.4)
    weekly_history(brand, [0.05, 0.0, 0.0], channel="push")
    log_in(page, membership.user.username, PASSWORD)
    page.click("nav a:has-text('Lift')")
    page.wait_for_url("**/dashboard/lift/")
    assert page.inner_text("h1") == "Lift · Lift Brand"
    headline = page.locator("section[data-channel='headline']")
    chart = headline.locator("svg.chart")
    assert chart.count() == 1 and chart.bounding_box()["height"] > 100  # drawn, not a placeholder
    assert headline.locator("svg.chart polygon").count() == 1  # the interval band
    line = headline.locator("polyline[data-series='headline: lift over holdout']")
    assert len(line.get_attribute("points").split()) == 5  # one point per week
    assert headline.locator("tr[data-week]").count() == 5
    assert page.locator("section[data-channel='push'] svg.chart").count() == 1
    banner = page.locator("#lift-alerts li[data-alert='below_zero']")
    assert banner.count() == 1 and "push" in banner.inner_text()
    shot(page, "lift")
