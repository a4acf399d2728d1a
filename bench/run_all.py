"""`make bench`: every benchmark in quick mode; a dated row per figure goes to bench/out/results.md.

`make bench-record` (`--record`) appends the rows to bench/RESULTS.md instead, the project's record.

Each benchmark prints `name=value` lines. A figure's baseline is the figure it is compared with
in the same run (COPY for ingestion, TRL for DPO, the naive server for generation), and the
ratio is value / baseline.
"""
from __future__ import annotations

import argparse
import datetime as dt
import platform
import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
# bench script -> [(figure, baseline figure or None)]
SUITE = {
    "ingest.py": [("ingest_events_per_s", "copy_rows_per_s"), ("ingest_lost_or_duplicated", None)],
    "assign.py": [("assign_p50_ms", None), ("assign_p99_ms", None)],
    "pairs.py": [("pairs_build_s", None), ("pairs_per_s", None)],
    "dpo_vs_trl.py": [("dpo_pairs_per_s", "trl_pairs_per_s"), ("max_abs_loss_diff", None)],
    "generate.py": [("gen_engine_tokens_per_s", "gen_naive_tokens_per_s"), ("gen_p50_ms", None),
                    ("gen_p99_ms", None), ("adapter_cold_load_ms", None)],
    "compliance_regex.py": [("re2_worst_rule_1000_texts_s", None), ("re_worst_rule_one_text_s", None)],
    "load.py": [("load_assign_p99_ms", None), ("load_ingest_p99_ms", None), ("load_errors", None)],
}
LINE = re.compile(r"^([a-z0-9_]+)=([-+0-9.eE]+)$")


def run(script: str, quick: bool) -> dict[str, float]:
    cmd = [sys.executable, str(BENCH / script)] + (["--quick"] if quick else [])
    print(f"== {' '.join(cmd[1:])}", flush=True)
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=BENCH.parent)
    sys.stdout.write(proc.stdout)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        print(f"{script} failed with exit code {proc.returncode}", flush=True)
    return {m.group(1): float(m.group(2)) for line in proc.stdout.splitlines() if (m := LINE.match(line.strip()))}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="*", help="bench scripts to run (default: all)")
    parser.add_argument("--record", action="store_true", help="append the rows to bench/RESULTS.md")
    args = parser.parse_args()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.machine()} {platform.processor() or ''} ({'quick' if args.quick else 'full'}, make bench)".strip()
    rows, failed = [], []
    for script, figures in SUITE.items():
        if args.only and script not in args.only:
            continue
        if not (BENCH / script).exists():
            failed.append(script)
            continue
        values = run(script, args.quick)
        for figure, baseline in figures:
            if figure not in values:
                failed.append(f"{script}:{figure}")
                continue
            base = values.get(baseline) if baseline else None
            ratio = f"{values[figure] / base:.2f}" if base else "-"
            base_text = f"{baseline} {base:g}" if base is not None else "-"
            rows.append(f"| {stamp} | {figure} | {values[figure]:g} | {base_text} | {ratio} | {machine} |")
    target = BENCH / "RESULTS.md" if args.record else BENCH / "out" / "results.md"
    target.parent.mkdir(exist_ok=True)
    with open(target, "a") as fh:
        fh.write("\n".join(rows) + ("\n" if rows else ""))
    print(f"appended {len(rows)} rows to {target.relative_to(BENCH.parent)}")
    if failed:
        print("missing or failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
