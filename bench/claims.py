"""Claim extraction on the hand-labelled corpus: precision and recall per claim kind, and verdicts.

tests/data/claims_corpus.txt holds lines of copy in the project's style, each with the claims a
reader sees (kind, and the value where one is stated) and, for a subset, a facts set
(tests/data/claims_facts.json) and the verdict each claim should get. A predicted claim matches a
labelled one of the same kind whose value it equals (a label without a value takes any value);
each kind's precision and recall count its matches, its unmatched predictions and its missed labels.

All six files count as the labelled corpus. The patterns were tuned on each held-out file
(claims_holdout.txt to claims_holdout5.txt) after it was written and measured once; that first
measurement, the honest figure for text never seen, is in bench/RESULTS.md. Prints one line per kind
on all of them, then `claims_precision_min`, `claims_recall_min` (floors 0.95 and 0.90),
`claims_verdict_accuracy` (labelled verdicts of the facts subset the checker gives, a claim it missed
counting as wrong) and, in the same process, the baseline: the discount reading the compliance
module had before it read claims through this extractor (its regexes, kept here as they were) on the
same discount labels. Then `holdout_*` lines: the same figures on the newest file alone.

    python bench/claims.py [--errors]
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections import Counter
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prefcontent.content.claims import check_claims, extract_claims, facts_parse  # noqa: E402
from prefcontent.content.claims.extract import KINDS  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "claims_corpus.txt"
# Each measured once as held out, then tuned on (RESULTS.md): part of the tuned corpus now.
TUNED_HOLDOUTS = tuple(ROOT / "tests" / "data" / f"claims_holdout{n}.txt" for n in ("", "2", "3", "4"))
# The newest file: written after the files above were tuned on; its first measurement is in RESULTS.md.
HOLDOUT = ROOT / "tests" / "data" / "claims_holdout5.txt"
FACTS = ROOT / "tests" / "data" / "claims_facts.json"
PRECISION_FLOOR, RECALL_FLOOR = 0.95, 0.90


def load(path: Path = CORPUS) -> list[dict]:
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split(" :: ")]
        labels = [] if parts[1] == "-" else [tuple(lab.strip().split("=", 1)) if "=" in lab else (lab.strip(), None)
                                              for lab in parts[1].split(";")]
        for kind, _ in labels:
            if kind not in KINDS:
                raise ValueError(f"{path.name}:{number}: unknown kind {kind!r}")
        verdicts = [v.strip() for v in parts[3].split(",")] if len(parts) > 3 else []
        if verdicts and len(verdicts) != len(labels):
            raise ValueError(f"{path.name}:{number}: {len(labels)} labels but {len(verdicts)} verdicts")
        rows.append({"line": number, "text": parts[0], "labels": labels,
                     "facts": parts[2] if len(parts) > 2 else None, "verdicts": verdicts})
    return rows


def value_matches(claim, value: str | None) -> bool:
    """Does the predicted claim state the labelled value (None: any)?"""
    if value is None:
        return True
    if claim.kind == "deadline":
        return claim.detail == value
    if claim.kind == "discount":
        if value == "bundle":
            return claim.unit == "bundle"
        if value.endswith("%"):
            return claim.unit == "%" and claim.value is not None and math.isclose(claim.value, float(value[:-1]))
        return claim.unit == "amount" and claim.value is not None and math.isclose(claim.value, float(value))
    return claim.value is not None and math.isclose(claim.value, float(value))


def match(predicted, labels) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """(label index, prediction index) pairs, unmatched predictions, missed labels; greedy in reading order."""
    pairs, used = [], set()
    for i, (kind, value) in enumerate(labels):
        for j, claim in enumerate(predicted):
            if j not in used and claim.kind == kind and value_matches(claim, value):
                pairs.append((i, j))
                used.add(j)
                break
    matched = {i for i, _ in pairs}
    return pairs, [j for j in range(len(predicted)) if j not in used], [i for i in range(len(labels)) if i not in matched]


_OLD_PERCENT = r"(?P<pct>\d{1,3}(?:[.,]\d+)?)\s*(?:%|percent\b|per\s?cent\b)"
_OLD_READING = (  # prefcontent/brands/compliance.py until 2026-12-02
    re.compile(_OLD_PERCENT + r"(?:\W+\w+){0,2}?\W*(?:off|discount(?:ed)?|savings?|sale|cheaper|less|reduction)\b",
               re.IGNORECASE),
    re.compile(r"\b(?:save|saving|savings|discount|discounts|up\s+to|take|extra|reduced\s+by|slashed\s+by|cut\s+by)"
               r"\W+(?:\w+\W+){0,2}?" + _OLD_PERCENT, re.IGNORECASE),
)
_OLD_HALF = re.compile(r"\bhalf[\s-]+(?:off|price)\b", re.IGNORECASE)


def claimed_discounts(text: str) -> list[float]:
    """The old compliance reading: every percentage next to discount words, and "half off" as 50."""
    found = [float(m.group("pct").replace(",", ".")) for regex in _OLD_READING for m in regex.finditer(text)]
    return found + [50.0 for _ in _OLD_HALF.finditer(text)]


def baseline_discounts(rows: list[dict]) -> tuple[float, float]:
    tp = fp = fn = 0
    for row in rows:
        wanted = [float(v[:-1]) for k, v in row["labels"] if k == "discount" and v and v.endswith("%")]
        found = list(dict.fromkeys(claimed_discounts(row["text"])))
        for pct in found:
            if pct in wanted:
                wanted.remove(pct)
                tp += 1
            else:
                fp += 1
        fn += len(wanted) + sum(1 for k, v in row["labels"] if k == "discount" and (not v or not v.endswith("%")))
    return tp / (tp + fp) if tp + fp else 1.0, tp / (tp + fn) if tp + fn else 1.0


def evaluate(rows: list[dict], facts: dict, today: date) -> dict:
    tp, fp, fn = Counter(), Counter(), Counter()
    right = total = 0
    errors = []
    for row in rows:
        predicted = extract_claims(row["text"])
        pairs, spurious, missed = match(predicted, row["labels"])
        for i, _ in pairs:
            tp[row["labels"][i][0]] += 1
        for j in spurious:
            fp[predicted[j].kind] += 1
            errors.append(f"{row['file']}:{row['line']}: spurious {predicted[j].kind} {predicted[j].text!r}: {row['text']}")
        for i in missed:
            fn[row["labels"][i][0]] += 1
            errors.append(f"{row['file']}:{row['line']}: missed {row['labels'][i]}: {row['text']}")
        if row["verdicts"]:
            verdicts = check_claims(row["text"], facts[row["facts"]], today=today)
            by_label = dict(pairs)
            for i, expected in enumerate(row["verdicts"]):
                total += 1
                got = verdicts[by_label[i]].verdict if i in by_label else "missed"
                right += got == expected
                if got != expected:
                    errors.append(f"{row['file']}:{row['line']}: verdict {got} for {row['labels'][i]}, labelled "
                                  f"{expected}: {row['text']}")
    kinds = {}
    for kind in KINDS:
        p = tp[kind] / (tp[kind] + fp[kind]) if tp[kind] + fp[kind] else 1.0
        r = tp[kind] / (tp[kind] + fn[kind]) if tp[kind] + fn[kind] else 1.0
        kinds[kind] = (p, r, tp[kind], fp[kind], fn[kind])
    return {"kinds": kinds, "right": right, "total": total, "errors": errors,
            "labelled": sum(tp.values()) + sum(fn.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="also print every missed and spurious claim")
    args = parser.parse_args()
    tuned, held = [], load(HOLDOUT)
    for path in (CORPUS, *TUNED_HOLDOUTS):
        for row in load(path):
            tuned.append({**row, "file": path.name})
    for row in held:
        row["file"] = HOLDOUT.name
    rows = tuned + held
    facts_file = json.loads(FACTS.read_text())
    today = date.fromisoformat(facts_file["today"])
    facts = {name: facts_parse(raw) for name, raw in facts_file["facts"].items()}
    both = evaluate(rows, facts, today)
    for kind, (p, r, tp, fp, fn) in both["kinds"].items():
        print(f"claims_kind={kind} precision={p:.3f} recall={r:.3f} labelled={tp + fn} tp={tp} fp={fp} fn={fn}")
    print(f"claims_lines={len(rows)} claims_lines_with_claims={sum(1 for r in rows if r['labels'])} "
          f"claims_labelled={both['labelled']}")
    print(f"claims_precision_min={min(k[0] for k in both['kinds'].values()):.3f} (floor {PRECISION_FLOOR})")
    print(f"claims_recall_min={min(k[1] for k in both['kinds'].values()):.3f} (floor {RECALL_FLOOR})")
    print(f"claims_verdict_accuracy={both['right'] / both['total']:.3f} ({both['right']}/{both['total']} labelled verdicts)")
    base_p, base_r = baseline_discounts(rows)
    print(f"baseline_compliance_discount_precision={base_p:.3f} baseline_compliance_discount_recall={base_r:.3f}")
    out = evaluate(held, facts, today)
    for kind, (p, r, tp, fp, fn) in out["kinds"].items():
        print(f"holdout_claims_kind={kind} precision={p:.3f} recall={r:.3f} labelled={tp + fn} tp={tp} fp={fp} fn={fn}")
    print(f"holdout_claims_lines={len(held)} holdout_claims_labelled={out['labelled']}")
    print(f"holdout_claims_precision_min={min(k[0] for k in out['kinds'].values()):.3f}")
    print(f"holdout_claims_recall_min={min(k[1] for k in out['kinds'].values()):.3f}")
    if args.errors:
        print("\n".join(both["errors"]))


if __name__ == "__main__":
    main()
