"""Snapshots: frozen, content-hashed, deterministic split; exports; pairs API filters."""
from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from ml.config import PreferenceExample
from prefcontent.brands.compliance_models import ComplianceRule
from prefcontent.preferences.building import pairs_build
from prefcontent.preferences.models import PreferencePair
from prefcontent.preferences.selectors import pairs_usable_since, snapshot_examples
from prefcontent.preferences.snapshots import snapshot_create, split_for
from prefcontent.tenancy.principal import SYSTEM
from tests.prefcontent.preferences.factories import clear_win, concluded_experiment

pytestmark = pytest.mark.django_db


def build_some(brand, n: int = 6) -> list[int]:
    # The split hashes the prompt, which carries the brand's name: a fixed name keeps these tests' splits
    # the same whatever the factory's sequence number (with "Brand <n>" all four pairs of a test could
    # land in the holdout when other tests were added before it).
    brand.name = "Trailhead"
    brand.save(update_fields=["name"])
    ids = [concluded_experiment(brand, [(f"Plain copy number {i}", 12000, 600), (f"Winning line {i} for runners", 12000, 900),
                                        (f"Third take {i}", 12000, 570)]).pk for i in range(n)]
    pairs_build(experiment_ids=ids)
    return ids


def test_snapshot_freezes_active_pairs_with_counts_bias_and_sources(brand):
    ids = build_some(brand, 3)
    ComplianceRule.objects.create(brand=brand, kind="banned_phrase", pattern="winning line 0")
    pairs_build(experiment_ids=ids, rebuild=True)  # two pairs of experiment 0 now excluded
    snapshot = snapshot_create(principal=SYSTEM, brand=brand, holdout_fraction=0.25)
    assert snapshot.counts["pairs"] == 4 and snapshot.counts["excluded_by_reason"] == {"compliance_violation": 2}
    assert snapshot.counts["train"] + snapshot.counts["holdout"] == 4
    assert snapshot.source_experiment_ids == sorted(ids[1:])
    assert snapshot.bias_report["pairs"] == 4 and snapshot.bias_report["number"]["chosen"] == 1.0
    rows = list(snapshot.rows.all())
    assert all(r.split == split_for(r.pair_hash, 0.25) for r in rows)


def test_repair_pairs_always_train_and_are_counted(brand):
    """The holdout measures how well an adapter predicts the audience; a learned rule would flatter it."""
    brand.settings = {"pairs_from_repairs": True}
    brand.save()
    ComplianceRule.objects.create(brand=brand, kind="max_discount", limit=30)
    experiments = [clear_win(brand, loser=f"Save {pct}% on running shoes") for pct in (35, 40, 45, 50, 55, 60)]
    pairs_build(experiment_ids=[e.pk for e in experiments])
    snapshot = snapshot_create(principal=SYSTEM, brand=brand, holdout_fraction=0.9)
    repairs = snapshot.rows.filter(chosen="Save 30% on running shoes")
    assert repairs.count() == 6 and set(repairs.values_list("split", flat=True)) == {"train"}
    assert snapshot.counts["repair"] == 6 and snapshot.counts["holdout"] > 0
    # A repair's chosen text is an edit, not a winner: training gives it no NLL term.
    examples = snapshot_examples(snapshot)
    assert {e.imitate for e in examples if e.chosen == "Save 30% on running shoes"} == {False}
    assert {e.imitate for e in examples if e.chosen != "Save 30% on running shoes"} == {True}


def test_snapshot_is_immutable_and_its_hash_is_reproducible(brand):
    build_some(brand, 2)
    first = snapshot_create(principal=SYSTEM, brand=brand)
    again = snapshot_create(principal=SYSTEM, brand=brand)
    assert first.content_hash == again.content_hash
    PreferencePair.objects.filter(brand=brand).update(chosen="edited")  # the live rows change...
    assert {r.chosen for r in first.rows.all()} != {"edited"}  # ...the frozen ones do not
    examples = snapshot_examples(first)
    assert len(examples) == 4 and all(isinstance(e, PreferenceExample) for e in examples)
    assert {e.split for e in examples} <= {"train", "holdout"}
    other = snapshot_create(principal=SYSTEM, brand=brand, holdout_fraction=0.5)
    assert other.content_hash != first.content_hash


def test_a_brand_without_usable_pairs_gets_a_clear_409(owner_client, brand):
    ComplianceRule.objects.create(brand=brand, kind="max_length", limit=5)
    pairs_build(experiment_ids=[clear_win(brand).pk])
    r = owner_client.post("/api/v1/dataset-snapshots/", {"brand": brand.pk}, format="json")
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "no_usable_pairs" and error["details"]["excluded_by_reason"] == {"compliance_violation": 1}


def test_create_retrieve_and_export_over_the_api(owner_client, brand):
    build_some(brand, 2)
    r = owner_client.post("/api/v1/dataset-snapshots/", {"brand": brand.pk, "holdout_fraction": 0.0}, format="json")
    assert r.status_code == 201, r.content
    snap = r.json()
    assert snap["counts"]["train"] == 4 and snap["split_rule"] == {"method": "pair_hash", "holdout_fraction": 0.0}
    dpo = owner_client.get(f"/api/v1/dataset-snapshots/{snap['id']}/export/")
    assert dpo.status_code == 200 and dpo["Content-Type"] == "application/x-ndjson"
    rows = [json.loads(line) for line in b"".join(dpo.streaming_content).decode().splitlines()]
    assert len(rows) == 4 and set(rows[0]) == {"prompt", "chosen", "rejected"}
    assert rows[0]["prompt"].endswith("Write:")
    unpaired = owner_client.get(f"/api/v1/dataset-snapshots/{snap['id']}/export/?kind=unpaired&split=train")
    rows = [json.loads(line) for line in b"".join(unpaired.streaming_content).decode().splitlines()]
    # two winners (each chosen twice, once per loser) + four losers
    assert len(rows) == 6 and sum(r["label"] for r in rows) == 2 and set(rows[0]) == {"prompt", "completion", "label"}
    assert owner_client.get(f"/api/v1/dataset-snapshots/{snap['id']}/export/?kind=csv").status_code == 400


def test_export_command_writes_jsonl_with_weights(brand, tmp_path):
    build_some(brand, 1)
    snapshot = snapshot_create(principal=SYSTEM, brand=brand, holdout_fraction=0.0)
    out = tmp_path / "train.jsonl"
    call_command("export_dataset", snapshot=snapshot.pk, out=str(out), weights=True, stderr=io.StringIO())
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 2 and all(0 < r["weight"] <= 1 for r in rows)


def test_pairs_api_filters_by_status_and_any_reason(owner_client, brand):
    ComplianceRule.objects.create(brand=brand, kind="banned_phrase", pattern="kicks")
    near = clear_win(brand, winner="Fresh kicks for every run!", loser="fresh kicks for every run")
    ok = clear_win(brand, winner="Shoes that love long runs", loser="Shoes")
    pairs_build(experiment_ids=[near.pk, ok.pk])
    base = f"/api/v1/preference-pairs/?brand={brand.pk}"
    active = owner_client.get(base + "&status=active").json()["results"]
    assert [p["chosen"] for p in active] == ["Shoes that love long runs"]
    dup = owner_client.get(base + "&reason=near_duplicate").json()["results"]
    assert len(dup) == 1 and dup[0]["exclusion_reason"] == "compliance_violation"  # primary reason first
    assert [e["reason"] for e in dup[0]["exclusions"]] == ["compliance_violation", "near_duplicate"]
    assert owner_client.get(base + "&reason=bogus").status_code == 400
    report = owner_client.get(f"/api/v1/brands/{brand.pk}/preference-report").json()
    assert report["active"] == 1 and report["excluded_by_reason"] == {"compliance_violation": 1}


def test_build_on_demand_and_usable_since(owner_client, brand):
    experiment = clear_win(brand)
    r = owner_client.post("/api/v1/preference-pairs/build/", {"experiment": experiment.pk}, format="json")
    assert r.status_code == 200 and r.json()["active"] == 1
    assert pairs_usable_since(brand, None) == 1
    assert pairs_usable_since(brand, PreferencePair.objects.get().created_at) == 0
    tie = concluded_experiment(brand, [("Same same", 3000, 150), ("Other text", 3000, 151)])
    r = owner_client.post("/api/v1/preference-pairs/build/", {"experiment": tie.pk}, format="json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_winner"


def test_a_winner_whose_claims_no_fact_backs_is_not_imitated(brand):
    """It still teaches its preference; imitating it would teach claims this campaign may not offer."""
    claims = clear_win(brand, winner="Free shipping on every order. Shop now")
    plain = clear_win(brand)  # "Fresh kicks for every run. Shop now": no claim
    backed = clear_win(brand, winner="Free shipping on every order. Shop now")
    backed.brief.facts = {"offer": {"free_shipping": True}}
    backed.brief.save(update_fields=["facts"])
    pairs_build(experiment_ids=[claims.pk, plain.pk, backed.pk])
    snapshot = snapshot_create(principal=SYSTEM, brand=brand, holdout_fraction=0.0)
    imitate = dict(snapshot.rows.values_list("experiment_id", "imitate"))
    assert imitate == {claims.pk: False, plain.pk: True, backed.pk: True}
    assert snapshot.counts["not_imitated_unbacked_claims"] == 1
    # The brand's own allowed claims back it too.
    brand.settings = {"allowed_claims": ["free shipping on every order"]}
    brand.save(update_fields=["settings"])
    again = snapshot_create(principal=SYSTEM, brand=brand, holdout_fraction=0.0)
    assert set(again.rows.values_list("imitate", flat=True)) == {True}
