"""Compare two `manage.py simulate` reports: is the run reproducible with `--seed`?

    python bench/sim_compare.py var/sim/a/report.json var/sim/b/report.json

Prints, per brand, the largest absolute difference of each round metric across rounds, the
difference of `lift`, and whether the adapter versions served each round agree, as
`name=value` lines (the figures go to bench/RESULTS.md by hand: two quick runs take ~15 min).
Two runs with the same seed differ only where the machine is not deterministic (thread
scheduling in the worker, float summation order); different seeds show the run-to-run noise.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

METRICS = ("true_ctr", "valid_rate", "violation_rate", "distinct2")


def compare(a: dict, b: dict) -> dict[str, float]:
    out: dict[str, float] = {}
    for brand in sorted(set(a["brands"]) & set(b["brands"])):
        ra, rb = a["brands"][brand]["rounds"], b["brands"][brand]["rounds"]
        key = brand.lower()
        for metric in METRICS:
            out[f"{key}_max_abs_diff_{metric}"] = max(abs(x[metric] - y[metric]) for x, y in zip(ra, rb, strict=True))
        la, lb = a["brands"][brand]["lift"], b["brands"][brand]["lift"]
        out[f"{key}_lift_a"], out[f"{key}_lift_b"] = la, lb
        out[f"{key}_abs_diff_lift"] = abs(la - lb)
        versions_a, versions_b = [x["adapter_version"] for x in ra], [y["adapter_version"] for y in rb]
        out[f"{key}_same_adapter_versions"] = float(versions_a == versions_b)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    args = parser.parse_args()
    for name, value in compare(json.loads(args.a.read_text()), json.loads(args.b.read_text())).items():
        print(f"{name}={value:.6g}")


if __name__ == "__main__":
    main()
