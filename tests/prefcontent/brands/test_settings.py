"""Typed brand settings: bad values are 400s naming the key; stored bad values never crash a read."""
from __future__ import annotations

import importlib
import logging
from dataclasses import fields

import pytest
from django.apps import apps

from prefcontent.brands.models import Brand
from prefcontent.brands.settings import (
    SETTINGS,
    BrandSettings,
    brand_settings,
    brand_settings_clean,
    brand_settings_repair,
    brand_settings_schema,
)
from prefcontent.core.errors import InvalidInput
from tests.factories import BrandFactory
from tests.prefcontent.experiments.factories import make_experiment

pytestmark = pytest.mark.django_db

BAD_VALUES = [
    ("decision_threshold", "high"),
    ("decision_threshold", None),
    ("decision_threshold", 1e308),
    ("decision_threshold", 10**400),
    ("decision_threshold", -1),
    ("decision_threshold", 0),
    ("decision_threshold", True),
    ("alpha", "x"),
    ("alpha", 1),
    ("srm_p", {}),
    ("pair_min_prob", "x"),
    ("pair_min_lift", -0.1),
    ("near_duplicate_threshold", [0.9]),
    ("pairs_from_ranking", "false"),
    ("pairs_from_repairs", 1),
    ("auto_promote", None),
    ("compliance_mode", "nonsense"),
    ("allowed_origins", "https://shop.example.com"),
    ("allowed_origins", ["https://shop.example.com", "not an origin"]),
    ("simulation_history", [{"round": "0", "true_ctr": 0.1}]),
    ("colour", "blue"),  # not a setting at all
]
# Stored before validation; the readers of every route must not fail on them.
STORED_BAD = {"decision_threshold": "high", "alpha": "x", "srm_p": {}, "pair_min_prob": "x", "auto_promote": None,
              "allowed_origins": ["https://shop.example.com", 7], "simulation_history": [{"round": 1}],
              "theme": "dark"}


def _field_error(response, key):
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    return error["details"]["fields"]["settings"][key]


@pytest.mark.parametrize(("key", "value"), BAD_VALUES)
def test_patching_a_bad_setting_is_a_400_naming_it_and_stores_nothing(owner_client, brand, key, value):
    brand.settings = {"decision_threshold": 0.9}
    brand.save()
    good = "alpha" if key != "alpha" else "srm_p"
    response = owner_client.patch(f"/api/v1/brands/{brand.pk}/", {"settings": {good: 0.01, key: value}},
                                  format="json")
    assert _field_error(response, key)
    assert good not in response.json()["error"]["details"]["fields"]["settings"]  # the good key is not blamed
    brand.refresh_from_db()
    assert brand.settings == {"decision_threshold": 0.9}


def test_creating_a_brand_with_a_bad_setting_is_a_400(owner_client, org):
    response = owner_client.post("/api/v1/brands/", {"organization": org.pk, "name": "Sunny",
                                                     "settings": {"decision_threshold": "high"}}, format="json")
    assert "number" in _field_error(response, "decision_threshold")[0]
    assert not Brand.objects.filter(name="Sunny").exists()


def test_a_valid_patch_replaces_the_settings_and_reads_back_typed(owner_client, brand):
    body = {"decision_threshold": 0.99, "allowed_origins": ["https://shop.example.com"], "pairs_from_ranking": False}
    response = owner_client.patch(f"/api/v1/brands/{brand.pk}/", {"settings": body}, format="json")
    assert response.status_code == 200 and response.json()["settings"] == body
    brand.refresh_from_db()
    typed = brand_settings(brand)
    assert (typed.decision_threshold, typed.allowed_origins, typed.pairs_from_ranking) == (
        0.99, ("https://shop.example.com",), False)
    assert typed.alpha == BrandSettings.alpha  # not set: the product default


def test_reads_fall_back_to_defaults_for_stored_bad_values_and_log_them(caplog):
    brand = BrandFactory(settings={**STORED_BAD, "pair_min_lift": 0.2})
    with caplog.at_level(logging.WARNING, logger="prefcontent.brands.settings"):
        typed = brand_settings(brand)
    defaults = BrandSettings()
    assert typed.decision_threshold == defaults.decision_threshold and typed.srm_p == defaults.srm_p
    assert typed.auto_promote is True and typed.simulation_history == ()
    assert typed.allowed_origins == ("https://shop.example.com",)  # the valid entry of the list is kept
    assert typed.pair_min_lift == 0.2  # valid values are read as stored
    assert f"brand {brand.pk}" in caplog.text and "decision_threshold" in caplog.text and "theme" in caplog.text


def test_results_decide_and_import_work_on_a_brand_with_stored_bad_settings(owner_client, brand, sent_tasks,
                                                                             django_capture_on_commit_callbacks):
    Brand.objects.filter(pk=brand.pk).update(settings=STORED_BAD)  # as a row written before validation
    client = owner_client
    experiment = make_experiment(brand, min_sample_per_arm=1000)
    for arm, clicks in zip(experiment.arms.order_by("id"), (500, 650), strict=True):
        arm.impressions, arm.clicks = 5000, clicks
        arm.save()
    results = client.get(f"/api/v1/experiments/{experiment.pk}/results/")
    assert results.status_code == 200 and results.json()["evidence"]["decision_threshold"] == 0.95
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/api/v1/experiments/{experiment.pk}/decide/").status_code == 200
    csv = ("test_id,variant_text,impressions,clicks,conversions\n"
           "t1,Fresh kicks for every run,5000,400,40\nt1,Our running shoes are here,5000,250,30\n")
    imported = client.generic("POST", f"/api/v1/brands/{brand.pk}/import", csv.encode(), content_type="text/csv")
    assert imported.status_code == 201, imported.content


def test_the_migration_repairs_stored_rows_and_keeps_what_the_old_readers_meant():
    migration = importlib.import_module("prefcontent.brands.migrations.0003_brand_settings_repair")
    bad = BrandFactory(settings={**STORED_BAD, "pair_min_prob": "0.9", "pairs_from_repairs": "yes",
                                 "auto_promote": 0, "near_duplicate_threshold": 0.85})
    good = BrandFactory(settings={"decision_threshold": 0.99, "compliance_mode": "flag"})
    broken = BrandFactory(settings=["not", "an", "object"])
    migration.repair(apps, None)
    bad.refresh_from_db(), good.refresh_from_db(), broken.refresh_from_db()
    assert bad.settings == {
        "pair_min_prob": 0.9,  # the old reader's float("0.9")
        "pairs_from_repairs": False,  # the old reader wanted `is True`
        "auto_promote": False,  # 0 turned auto-promotion off before: it stays off
        "near_duplicate_threshold": 0.85,
        "allowed_origins": ["https://shop.example.com"],
    }
    assert good.settings == {"decision_threshold": 0.99, "compliance_mode": "flag"}
    assert broken.settings == {}
    assert brand_settings_clean(bad.settings) == bad.settings  # what the migration leaves validates


def test_repair_drops_what_no_reader_could_use():
    kept, changed = brand_settings_repair({"alpha": 0.1, "srm_p": "x", "colour": 1, "allowed_origins": [1, 2]})
    assert kept == {"alpha": 0.1}
    assert set(changed) == {"srm_p", "colour", "allowed_origins"}
    assert brand_settings_repair(None) == ({}, {})


def test_service_writers_validate_too(brand):
    from prefcontent.brands.services import brand_settings_update
    from prefcontent.tenancy.principal import SYSTEM

    brand.settings = {"simulation_history": [{"round": 0, "true_ctr": 0.05}], "decision_threshold": 0.9}
    brand.save()
    with pytest.raises(InvalidInput) as raised:
        brand_settings_update(principal=SYSTEM, brand=brand, changes={"alpha": "x"})
    assert raised.value.details == {"fields": {"settings": {"alpha": ["must be a number in (0, 1)."]}}}
    updated = brand_settings_update(principal=SYSTEM, brand=brand, changes={"alpha": 0.1, "decision_threshold": None})
    assert updated.settings == {"simulation_history": [{"round": 0, "true_ctr": 0.05}], "alpha": 0.1}


def test_every_setting_has_a_check_a_meaning_and_a_schema_entry():
    schema = brand_settings_schema()
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {f.name for f in fields(BrandSettings)} == set(SETTINGS)
    for name, setting in SETTINGS.items():
        assert setting.metadata["doc"], name
        setting.metadata["check"](schema["properties"][name]["default"])  # every default passes its own check


def test_origins_accept_a_star_or_a_list():
    assert brand_settings_clean({"allowed_origins": "*"}) == {"allowed_origins": "*"}
    assert brand_settings(BrandFactory.build(settings={"allowed_origins": "*"})).allowed_origins == ("*",)
    with pytest.raises(InvalidInput):
        brand_settings_clean({"allowed_origins": ["https://a.example", "https://b.example "]})


def test_simulation_rounds_hold_numbers_only():
    clean = {"simulation_history": [{"round": 0, "adapter_version": None, "true_ctr": 0.03, "distinct2": 0.5}]}
    assert brand_settings_clean(clean) == clean
    for bad in ({"round": 0, "true_ctr": 0.03, "note": "text\x00"}, {"round": 0, "true_ctr": 0.03, "Bad Key": 1}):
        with pytest.raises(InvalidInput):
            brand_settings_clean({"simulation_history": [bad]})


def test_the_admin_form_validates_settings_the_same_way(brand):
    from prefcontent.brands.admin import BrandForm

    data = {"organization": brand.organization_id, "name": brand.name, "slug": brand.slug, "voice": "",
            "locale": "en-US", "created_at": "2026-01-01 00:00:00"}
    bad = BrandForm({**data, "settings": '{"decision_threshold": "high"}'}, instance=brand)
    assert not bad.is_valid() and "decision_threshold must be a number in (0, 1]." in str(bad.errors["settings"])
    assert BrandForm({**data, "settings": '{"decision_threshold": 0.9}'}, instance=brand).is_valid()
