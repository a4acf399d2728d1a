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


def _site(live_server):
    cms_origin = live_server.url.replace("localhost", "127.0.0.1")
    brand = BrandFactory(settings={"allowed_origins": [cms_origin]})
    running = experiment(brand, name="Checkout", start=True)
    key = ApiKeyFactory.issue(brand=brand, scopes=["assign", "events:write"])
    return cms_origin, running, urlencode({"api": live_server.url, "key": key})


def test_a_conversion_on_a_later_page_is_counted_on_the_arm_the_visitor_saw(page, live_server):
    cms_origin, running, query = _site(live_server)
    page.goto(f"{cms_origin}/cms-test/{running.pk}/?{query}")
    page.wait_for_selector("#headline[data-prefcontent-arm]")
    arm = int(page.get_attribute("#headline", "data-prefcontent-arm"))
    _wait_for(lambda: Arm.objects.get(pk=arm).impressions == 1)

    page.goto(f"{cms_origin}/cms-test/checkout/?{query}")  # a new page view: no experiment element on it
    assert page.evaluate(f"window.PrefContent.conversion({running.pk})") is True
    _wait_for(lambda: Arm.objects.get(pk=arm).conversions == 1)
    assert Event.objects.get(experiment=running, type="conversion").arm_id == arm
    assert Arm.objects.filter(experiment=running).exclude(pk=arm).get().conversions == 0
    # An experiment this visitor never saw gets no conversion from them.
    assert page.evaluate(f"window.PrefContent.conversion({running.pk + 1000})") is False


def test_elements_added_later_are_assigned_and_hidden_until_then(page, live_server):
    cms_origin, running, query = _site(live_server)
    page.goto(f"{cms_origin}/cms-test/app/?{query}")
    page.wait_for_function("window.PrefContent !== undefined")
    hidden_at_insert = page.evaluate(f"""() => {{
        const h = document.createElement("h2");
        h.id = "late"; h.textContent = "Fallback"; h.setAttribute("data-prefcontent-experiment", "{running.pk}");
        document.getElementById("app").appendChild(h);
        return getComputedStyle(h).visibility;  // before any answer could arrive: no fallback flash
    }}""")
    assert hidden_at_insert == "hidden"
    page.wait_for_selector("#late[data-prefcontent-arm]")
    arm = Arm.objects.select_related("variant").get(pk=int(page.get_attribute("#late", "data-prefcontent-arm")))
    assert page.inner_text("#late") == arm.variant.text
    assert page.evaluate("getComputedStyle(document.getElementById('late')).visibility") == "visible"
    _wait_for(lambda: Arm.objects.get(pk=arm.pk).impressions == 1)
