import pytest

from tests.factories import BrandFactory


def test_malformed_json_is_400_in_error_shape(owner_client):
    response = owner_client.generic("POST", "/api/v1/brands/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"


def test_validation_errors_name_the_fields(owner_client):
    response = owner_client.post("/api/v1/brands/", {"organization": "x"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert {"organization", "name"} <= set(error["details"]["fields"])


def test_page_size_is_bounded(owner_client, org, settings):
    BrandFactory.create_batch(3, organization=org)
    page = owner_client.get("/api/v1/brands/?page_size=2").json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    too_big = owner_client.get(f"/api/v1/brands/?page_size={settings.MAX_PAGE_SIZE + 1}")
    assert too_big.status_code == 400
    assert too_big.json()["error"]["code"] == "invalid_page_size"


def test_oversize_body_is_413(owner_client, settings):
    settings.MAX_REQUEST_BYTES = 1000
    response = owner_client.post("/api/v1/brands/", {"organization": 1, "name": "x" * 2000}, format="json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_unknown_api_path_is_404_json(owner_client):
    response = owner_client.get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_rate_limit_is_429_with_retry_after(brand, make_key, settings):
    from django.core.cache import cache

    from tests.conftest import client_for_key

    cache.clear()
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"api_key": "3/min", "user": "100/min", "anon": "10/min"}}
    client = client_for_key(make_key(brand))
    codes = [client.get("/api/v1/brands/").status_code for _ in range(4)]
    assert codes[:3] == [200, 200, 200] and codes[3] == 429
    response = client.get("/api/v1/brands/")
    assert int(response["Retry-After"]) >= 1
    assert response.json()["error"]["code"] == "rate_limited"
    cache.clear()


def test_request_id_is_echoed(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"


@pytest.mark.smoke
def test_health_and_readiness(client, db):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.content
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}


@pytest.mark.smoke
def test_schema_and_docs_are_served_without_a_cdn(client, db):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger" in html.lower()
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()


@pytest.mark.parametrize("debug", [False, True])
def test_unknown_routes_answer_json_also_in_development(client, settings, debug):
    settings.DEBUG = debug
    for path in ("/api/v1/nothing-here/", "/nothing", "/api/v2/brands/"):
        response = client.get(path)
        assert response.status_code == 404 and response["Content-Type"] == "application/json", path
        assert response.json()["error"]["code"] == "not_found"


def test_a_missing_trailing_slash_is_named_not_redirected(owner_client):
    response = owner_client.post("/api/v1/brands", {"name": "x"}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["details"] == {"did_you_mean": "/api/v1/brands/"}


def test_a_wrong_method_is_a_json_405(owner_client):
    response = owner_client.delete("/api/v1/events")
    assert response.status_code == 405 and response.json()["error"]["code"] == "method_not_allowed"


def test_an_unknown_dashboard_page_is_html(client, owner, settings):
    settings.DEBUG = False
    client.force_login(owner)
    response = client.get("/dashboard/no-such-page/")
    assert response.status_code == 404 and "text/html" in response["Content-Type"]
    assert b"This page does not exist." in response.content
