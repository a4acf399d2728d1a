"""The extractor on the hand-labelled corpus (tests/data/claims_*.txt), through bench/claims.py's scoring.

A regression guard on the files the patterns were tuned on: every kind keeps the issue's floors there.
The held-out file's figure is the benchmark's to print, not a test's to hold.
"""
from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_claims", ROOT / "bench" / "claims.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_kind_meets_the_floors_on_the_tuned_corpus(bench):
    import json

    from prefcontent.content.claims import facts_parse

    rows = [{**row, "file": path.name} for path in (bench.CORPUS, *bench.TUNED_HOLDOUTS) for row in bench.load(path)]
    raw = json.loads(bench.FACTS.read_text())
    facts = {name: facts_parse(value) for name, value in raw["facts"].items()}
    out = bench.evaluate(rows, facts, date.fromisoformat(raw["today"]))
    assert len(rows) > 700 and out["total"] > 70
    for kind, (precision, recall, *_counts) in out["kinds"].items():
        assert precision >= bench.PRECISION_FLOOR, (kind, precision, out["errors"])
        assert recall >= bench.RECALL_FLOOR, (kind, recall, out["errors"])
    assert out["right"] == out["total"], [e for e in out["errors"] if "verdict" in e]
