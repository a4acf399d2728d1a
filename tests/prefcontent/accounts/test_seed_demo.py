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


def test_keep_key_keeps_a_working_demo_key_across_restarts(db, capsys, tmp_path):
    saved = tmp_path / "demo.json"
    call_command("seed_demo", "--json", "--keep-key", str(saved))  # nothing saved yet: a new key
    saved.write_text(capsys.readouterr().out)
    first = json.loads(saved.read_text())
    call_command("seed_demo", "--json", "--keep-key", str(saved))
    second = json.loads(capsys.readouterr().out)
    assert second["api_key"] == first["api_key"]
    assert client_for_key(first["api_key"]).get("/api/v1/brands/").status_code == 200


@pytest.mark.parametrize("saved_text", ["not json", '{"api_key": 42}', '{"api_key": "pck_forged_secret"}'])
def test_keep_key_issues_a_new_key_when_the_saved_one_does_not_work(db, capsys, tmp_path, saved_text):
    saved = tmp_path / "demo.json"
    saved.write_text(saved_text)
    call_command("seed_demo", "--json", "--keep-key", str(saved))
    issued = json.loads(capsys.readouterr().out)["api_key"]
    assert issued != saved_text
    assert client_for_key(issued).get("/api/v1/brands/").status_code == 200
