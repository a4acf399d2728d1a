import json

import pytest
from django.core.management import call_command

from tests.conftest import client_for_key


@pytest.mark.smoke
def test_seed_demo_is_idempotent_and_prints_working_credentials(db, capsys, client):
    call_command("seed_demo", "--json")
    first = json.loads(capsys.readouterr().out)
    call_command("seed_demo", "--json")
    second = json.loads(capsys.readouterr().out)
    assert set(second) == {"organization", "brand_id", "username", "password", "api_key"}
    assert first["brand_id"] == second["brand_id"]
    assert client.login(username=second["username"], password=second["password"])
    assert client_for_key(second["api_key"]).get("/api/v1/brands/").status_code == 200
    assert client_for_key(first["api_key"]).get("/api/v1/brands/").status_code in (401, 403)
