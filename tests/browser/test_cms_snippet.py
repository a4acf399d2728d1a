import time
from urllib.parse import urlencode

import pytest

from prefcontent.experiments.models import Arm, Event
from tests.factories import ApiKeyFactory, BrandFactory
from tests.prefcontent.dashboard.helpers import experiment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.browser.cms_urls")]


def test_snippet_shows_the_assignment_and_counts_impression_and_click_once(page, live_server, shot):
    # The CMS page lives on another origin than the API (127.0.0.1 vs localhost), so the snippet's
    # requests are cross-origin and go through CORS; both are loopback addresses, which Chromium's
    # local-network rules allow (a page Playwright fulfils itself would count as public).
    assert live_server.url.startswith("http://localhost:")
    cms_origin = live_server.url.replace("localhost", "127.0.0.1")
    brand = BrandFactory(settings={"allowed_origins": [cms_origin]})
    running = experiment(brand, name="Snippet", start=True)
    key = ApiKeyFactory.issue(brand=brand, scopes=["assign", "events:write"])
    page.goto(f"{cms_origin}/cms-test/{running.pk}/?" + urlencode({"api": live_server.url, "key": key}))

    page.wait_for_selector("#headline[data-prefcontent-arm]")
    arm = Arm.objects.select_related("variant").get(pk=int(page.get_attribute("#headline", "data-prefcontent-arm")))
    assert arm.experiment_id == running.pk
    assert page.inner_text("#headline") == arm.variant.text
    _wait_for(lambda: Arm.objects.get(pk=arm.pk).impressions == 1)  # batched, sent within a second

    page.click("#headline")
    page.click("#headline")  # a second click on the same view is not a second click event
    _wait_for(lambda: Arm.objects.get(pk=arm.pk).clicks >= 1)
    page.evaluate("window.PrefContent.flush()")
    page.wait_for_timeout(1500)  # room for any duplicate send to arrive (it must not count)
    shot(page, "cms_test_page")
    arm.refresh_from_db()
    assert (arm.impressions, arm.clicks) == (1, 1)
    assert Event.objects.filter(experiment=running, type="impression").count() == 1
    assert Event.objects.filter(experiment=running, type="click").count() == 1


def _wait_for(condition, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
