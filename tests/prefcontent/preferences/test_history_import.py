"""History import: tests become concluded experiments with live-rule decisions and pairs; bad files change nothing."""
from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from prefcontent.experiments.models import Arm, Decision, Experiment
from prefcontent.preferences.models import HistoryImport, PreferencePair

pytestmark = pytest.mark.django_db

HEADER = "test_id,variant_text,impressions,clicks,conversions,started_at,ended_at,brief,channel\n"
GOOD = (HEADER
        + "t1,Fresh kicks for every run,5000,400,40,2024-03-01,2024-03-15,Spring running shoes,headline\n"
        + "t1,Our running shoes are here,5000,250,30,2024-03-01,2024-03-15,Spring running shoes,headline\n"
        + "t2,Cozy candles tonight,3000,150,9,,,,\n"
        + "t2,Scented candles for you,3000,151,8,,,,\n")


def post(client, brand, body: bytes, query: str = "", content_type="text/csv"):
    return client.generic("POST", f"/api/v1/brands/{brand.pk}/import{query}", body, content_type=content_type)


def test_a_csv_becomes_experiments_decisions_and_pairs(owner_client, brand):
    r = post(owner_client, brand, GOOD.encode())
    assert r.status_code == 201, r.content
    report = r.json()
    assert report["rows"] == 4 and report["tests"] == 2 and report["concluded"] == 1
    assert report["stopped_inconclusive"] == 1 and report["pairs"] == 1 and report["pairs_active"] == 1
    t1 = Experiment.objects.get(name="t1")
    assert t1.source == "imported" and t1.status == "concluded" and t1.campaign.channel == "headline"
    assert t1.started_at.date().isoformat() == "2024-03-01"
    decision = Decision.objects.get(experiment=t1)
    winner = Arm.objects.get(pk=decision.winner_arm_id)
    assert winner.variant.text == "Fresh kicks for every run" and winner.variant.source == "imported"
    assert decision.evidence["analysis"]["winner_id"] == str(winner.pk)  # the live evidence layout
    assert Experiment.objects.get(name="t2").status == "stopped"
    pair = PreferencePair.objects.get()
    assert "Product: Spring running shoes" in pair.prompt and "Channel: headline" in pair.prompt


def test_multipart_upload_of_jsonl_with_the_conversion_metric(owner_client, brand):
    rows = [{"test_id": "x", "variant_text": "A text", "impressions": 4000, "clicks": 400, "conversions": 80},
            {"test_id": "x", "variant_text": "B text", "impressions": 4000, "clicks": 400, "conversions": 20}]
    upload = io.BytesIO("\n".join(json.dumps(r) for r in rows).encode())
    upload.name = "history.jsonl"
    r = owner_client.post(f"/api/v1/brands/{brand.pk}/import?primary_metric=conversion", {"file": upload},
                          format="multipart")
    assert r.status_code == 201, r.content
    assert PreferencePair.objects.get().chosen == "A text"  # clicks tie; conversions decide


def test_a_bad_row_rejects_the_whole_file_with_a_row_report(owner_client, brand):
    bad = GOOD + "t3,Negative,-1,0,0,,,,\nt3,Clicks,10,20,0,,,,\n"
    r = post(owner_client, brand, bad.encode())
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "invalid_import" and error["details"]["rows_rejected"] == 2
    assert [(e["row"], e["reason"]) for e in error["details"]["errors"]] == [
        (5, "invalid_value"), (6, "clicks_above_impressions")]
    assert not Experiment.objects.exists() and not HistoryImport.objects.exists()


def test_importing_the_same_test_twice_is_refused(owner_client, brand):
    assert post(owner_client, brand, GOOD.encode()).status_code == 201
    r = post(owner_client, brand, GOOD.encode())
    assert r.status_code == 400
    assert {e["reason"] for e in r.json()["error"]["details"]["errors"]} == {"already_imported"}
    assert Experiment.objects.count() == 2


def test_too_large_a_file_is_a_413(owner_client, brand, settings):
    settings.MAX_IMPORT_BYTES = 100
    r = post(owner_client, brand, GOOD.encode())
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"


def test_unknown_channel_is_a_row_error(owner_client, brand):
    r = post(owner_client, brand, (HEADER + "t,A,100,5,0,,,,fax\nt,B,100,6,0,,,,fax\n").encode())
    assert r.status_code == 400 and r.json()["error"]["details"]["errors"][0]["row"] == 1


def test_management_command_reports_rows_and_rejections(brand, tmp_path):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text(GOOD)
    bad.write_bytes(HEADER.encode() + b"t9,caf\xe9,100,1,0,,,,\nt9,ok,100,1,0,,,,\n")
    out, err = io.StringIO(), io.StringIO()
    call_command("import_history", str(good), brand=brand.pk, stdout=out, stderr=err)
    assert "pairs=1" in out.getvalue() and "concluded=1" in out.getvalue()
    err = io.StringIO()
    with pytest.raises(CommandError, match="not imported"):
        call_command("import_history", str(bad), brand=brand.pk, stdout=io.StringIO(), stderr=err)
    assert "row 1: encoding_error" in err.getvalue()


def test_the_fast_analysis_dict_is_the_engines_to_dict():
    from prefcontent.experiments.stats import ArmCounts, analyze
    from prefcontent.preferences.history_import import _analysis_dict

    analysis = analyze([ArmCounts("1", 1000, 50), ArmCounts("2", 1000, 80), ArmCounts("3", 900, 40)], "1", draws=500)
    assert _analysis_dict(analysis) == analysis.to_dict()


def test_raw_jsonl_body_with_an_explicit_format_and_api_keys_are_refused(owner_client, brand, make_key):
    from tests.conftest import client_for_key

    rows = [{"test_id": "j", "variant_text": "First", "impressions": 5000, "clicks": 400, "conversions": 0},
            {"test_id": "j", "variant_text": "Second", "impressions": 5000, "clicks": 250, "conversions": 0}]
    body = "\n".join(json.dumps(r) for r in rows).encode()
    r = post(owner_client, brand, body, "?file_format=jsonl&min_sample_per_arm=100", "application/octet-stream")
    assert r.status_code == 201, r.content
    assert Experiment.objects.get(name="j").min_sample_per_arm == 100
    keyed = client_for_key(make_key(brand))
    r = post(keyed, brand, body, "?file_format=jsonl")
    assert r.status_code == 403 and r.json()["error"]["code"] == "api_key_not_allowed"


def test_borderline_tests_are_decided_again_at_full_precision(owner_client, brand):
    from prefcontent.experiments.stats import ArmCounts, analyze
    from prefcontent.preferences.history_import import SCREEN_DRAWS

    csv = (HEADER + "clear,A clear winner,5000,400,0,,,,\nclear,A clear loser,5000,250,0,,,,\n"
           "edge,Edge winner,5000,287,0,,,,\nedge,Edge loser,5000,250,0,,,,\n")
    assert post(owner_client, brand, csv.encode()).status_code == 201
    clear = Decision.objects.get(experiment__name="clear")
    edge = Decision.objects.get(experiment__name="edge")
    assert clear.evidence["draws"] == SCREEN_DRAWS and clear.outcome == "winner"
    assert edge.evidence["draws"] == 10_000
    arms = list(Arm.objects.filter(experiment=edge.experiment).order_by("id"))
    live = analyze([ArmCounts(str(a.pk), a.impressions, a.clicks) for a in arms], str(arms[0].pk),
                   min_sample=1000, seed=edge.experiment_id, draws=10_000)
    assert edge.evidence["analysis"] == live.to_dict()  # exactly what the engine says at that precision
    assert edge.outcome == ("winner" if live.winner_id else "inconclusive")


def test_a_field_over_the_csv_limit_is_a_400_and_writes_nothing(owner_client, brand):
    body = (HEADER + "t1,Fresh kicks,5000,400,40,,,,headline\nt1," + "x" * 200_000 + ",5000,250,30,,,,headline\n")
    r = post(owner_client, brand, body.encode())
    assert r.status_code == 400, r.content
    error = r.json()["error"]
    assert error["code"] == "invalid_import"
    assert any("unreadable CSV" in e["message"] and e["row"] == 2 for e in error["details"]["errors"])
    assert not Experiment.objects.exists() and not HistoryImport.objects.filter(brand=brand).exists()
