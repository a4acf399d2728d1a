import pytest

from tests.prefcontent.experiments.lift_data import weekly_history

pytestmark = pytest.mark.django_db


def test_lift_page_charts_each_channel_with_its_band(brand, member):
    # 500 held-out readers a week clicking at 40 %: intervals of about +-0.18 on log(1 + lift), all above zero.
    weekly_history(brand, [0.4, 0.35, 0.3, 0.25], treated=9500, held=500, holdout_rate=0.4)
    weekly_history(brand, [0.1, 0.1], channel="email_subject")
    _, client = member(brand.organization, "viewer")
    response = client.get("/dashboard/lift/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-channel="headline"' in html and 'data-channel="email_subject"' in html
    assert html.count('<svg class="chart"') == 2 and "<polygon" in html  # the band
    assert 'data-series="headline: lift over holdout"' in html
    assert html.count("data-week=") == 6 and 'id="lift-alerts"' not in html


def test_lift_alert_shows_as_a_banner_on_the_page_and_the_overview(brand, member):
    brand.settings = {"lift_alert_weeks": 2}
    brand.save()
    weekly_history(brand, [0.4, 0.0, 0.0])
    _, client = member(brand.organization, "viewer")
    html = client.get("/dashboard/lift/").content.decode()
    assert 'id="lift-alerts"' in html and 'data-alert="below_zero"' in html
    overview = client.get("/dashboard/").content.decode()
    assert 'data-alert="lift_below_zero"' in overview


def test_lift_page_refuses_a_bad_window(brand, member):
    _, client = member(brand.organization, "viewer")
    assert client.get("/dashboard/lift/?weeks=0").status_code == 400
