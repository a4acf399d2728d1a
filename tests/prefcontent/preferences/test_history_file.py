"""Parsing and validating history files: every bad row reported with its reason."""
from __future__ import annotations

import json

from prefcontent.preferences.history_file import detect_format, parse_history

HEADER = "test_id,variant_text,impressions,clicks,conversions,started_at,brief\n"


def reasons(parsed) -> list[tuple[int | None, str]]:
    return [(e.row, e.reason) for e in parsed.errors]


def test_a_valid_csv_groups_rows_into_tests():
    data = (HEADER + "t1,Hello there,1000,50,5,2024-01-02,Spring sale\n"
            "t1,Hi friend,1000,70,6,2024-01-02,Spring sale\n"
            "t2,\"Quoted, with comma\",500,10,1,,\nt2,Other,500,12,0,,\n").encode()
    parsed = parse_history(data, "csv")
    assert parsed.errors == [] and parsed.rows == 4
    assert [t.test_id for t in parsed.tests] == ["t1", "t2"]
    t1 = parsed.tests[0]
    assert [a.text for a in t1.arms] == ["Hello there", "Hi friend"] and t1.brief == "Spring sale"
    assert t1.started_at.year == 2024 and t1.started_at.tzinfo is not None
    assert parsed.tests[1].arms[0].text == "Quoted, with comma"


def test_missing_columns_are_a_file_level_error():
    parsed = parse_history(b"test_id,variant_text,impressions\nt1,x,1\n", "csv")
    assert reasons(parsed) == [(None, "missing_columns")]
    assert "clicks" in parsed.errors[0].message and "conversions" in parsed.errors[0].message


def test_every_bad_row_is_reported_with_its_reason():
    data = (HEADER
            + "t1,Good,1000,50,5,,\n"          # 1
            + "t1,Also good,1000,60,5,,\n"     # 2
            + "t1,Negative,-5,0,0,,\n"          # 3
            + "t1,Too many clicks,10,11,0,,\n"  # 4
            + "t1,Bad number,ten,1,0,,\n"       # 5
            + "t1,,100,1,0,,\n"                 # 6 missing text
            + "t1,Good,100,1,0,,\n"             # 7 duplicate text
            + "t1,Bad date,100,1,0,yesterday,\n"  # 8
            + "t1,Conv,100,1,101,,\n"           # 9
            + "t2,Alone,100,1,0,,\n"            # 10 single variant
            ).encode() + b"t3,caf\xe9 latin-1,100,1,0,,\n"  # 11 not UTF-8
    parsed = parse_history(data, "csv")
    assert reasons(parsed) == [(3, "invalid_value"), (4, "clicks_above_impressions"), (5, "invalid_value"),
                               (6, "missing_value"), (7, "duplicate_variant"), (8, "invalid_value"),
                               (9, "conversions_above_impressions"), (10, "single_variant"),
                               (11, "encoding_error")]
    assert "negative" in parsed.errors[0].message


def test_jsonl_rows_and_malformed_lines():
    good = {"test_id": "a", "variant_text": "One", "impressions": 100, "clicks": 5, "conversions": 1}
    lines = [json.dumps(good), json.dumps({**good, "variant_text": "Two", "clicks": 7.0}), "{not json",
             json.dumps([1, 2]), json.dumps({**good, "variant_text": "Three", "clicks": True})]
    parsed = parse_history("\n".join(lines).encode(), "jsonl")
    assert reasons(parsed) == [(3, "malformed_row"), (4, "malformed_row"), (5, "invalid_value")]
    assert [a.clicks for a in parsed.tests[0].arms] == [5, 7]


def test_empty_file_and_format_detection():
    assert reasons(parse_history(HEADER.encode(), "csv")) == [(None, "empty_file")]
    assert detect_format("past.JSONL", b"") == "jsonl"
    assert detect_format("", b'  {"test_id": 1}') == "jsonl"
    assert detect_format("", b"test_id,variant_text") == "csv"
