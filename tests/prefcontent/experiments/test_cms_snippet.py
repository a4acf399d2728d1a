import pytest
from django.utils import timezone

from prefcontent.experiments.models import Assignment, Event
from tests.conftest import client_for_key
from tests.prefcontent.experiments.factories import make_experiment

SITE = "https://shop.example.com"


@pytest.mark.smoke
def test_snippet_is_served_as_javascript(client):
    response = client.get("/api/v1/snippet.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    body = response.content.decode()
    assert "/api/v1/events" in body and "/assign?unit_id=" in body and "event_id" in body
    assert "textContent" in body and "innerHTML" not in body  # copy is never rendered as markup


def test_preflight_answers_without_credentials(client):
    response = client.options("/api/v1/events", HTTP_ORIGIN=SITE, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
                              HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type, x-api-key")
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == SITE
    assert "X-API-Key" in response["Access-Control-Allow-Headers"]
    assert "POST" in response["Access-Control-Allow-Methods"]


def test_allow_list_per_brand(brand, make_key):
    brand.settings = {"allowed_origins": [SITE]}
    brand.save()
    experiment = make_experiment(brand)
    client = client_for_key(make_key(brand, scopes=["assign", "events:write"]))
    url = f"/api/v1/experiments/{experiment.pk}/assign?unit_id=u1"
    allowed = client.get(url, HTTP_ORIGIN=SITE)
    assert allowed.status_code == 200 and allowed["Access-Control-Allow-Origin"] == SITE
    refused = client.get(url, HTTP_ORIGIN="https://evil.example")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in refused
    event = {"event_id": "e1", "experiment": experiment.pk, "arm": allowed.json()["arm"], "type": "impression",
             "unit_id": "u1", "timestamp": timezone.now().isoformat()}
    assert client.post("/api/v1/events", {"events": [event]}, format="json",
                       HTTP_ORIGIN="https://evil.example").status_code == 403
    assert not Event.objects.exists() and Assignment.objects.count() == 1
    server_side = client.post("/api/v1/events", {"events": [event]}, format="json")  # no Origin: not a browser
    assert server_side.json()["accepted"] == 1 and "Access-Control-Allow-Origin" not in server_side


def test_star_allows_any_origin_for_development(brand, make_key):
    brand.settings = {"allowed_origins": "*"}
    brand.save()
    experiment = make_experiment(brand)
    client = client_for_key(make_key(brand, scopes=["assign"]))
    response = client.get(f"/api/v1/experiments/{experiment.pk}/assign?unit_id=u1", HTTP_ORIGIN="http://localhost:8080")
    assert response.status_code == 200 and response["Access-Control-Allow-Origin"] == "http://localhost:8080"
