"""`manage.py simulate`: R rounds of the closed loop per simulated brand, through the real system.

    python manage.py simulate --quick --report var/sim/report.json

`--quick` is 2 brands, round 0 (base model) and rounds 1-3 (each after a training run) on the
dev model. `--smoke` is the CI plumbing check: 1 brand, 1 trained round, small traffic, and
whatever base model is configured (the tests point it at a tiny model).
"""
from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from simulation.charts import write_charts
from simulation.loop import SimConfig, run_simulation
from simulation.workers import WorkerProcess

PRESETS = {
    "full": SimConfig(rounds=6, briefs=6, units=3000),
    "quick": SimConfig(),
    "smoke": SimConfig(rounds=2, brands=1, briefs=2, candidates=4, best_of=8, jobs_per_brief=1, arms=2, units=300,
                       views_per_unit=4, min_sample_per_arm=100, train_epochs=1, max_new_tokens=16, history_tests=24,
                       holdout_fraction=0.4),  # enough held-out pairs that the gate can decide
}


class Command(BaseCommand):
    help = "Run the closed loop (generate → test → pairs → train → gate → generate) on simulated audiences."

    def add_arguments(self, parser):
        preset = parser.add_mutually_exclusive_group()
        preset.add_argument("--quick", action="store_true", help="2 brands, rounds 0-3 (about 15 min on a CPU).")
        preset.add_argument("--smoke", action="store_true", help="1 brand, 2 rounds, tiny traffic (CI).")
        parser.add_argument("--rounds", type=int)
        parser.add_argument("--brands", type=int, choices=(1, 2))
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--report", type=Path, help="Write the JSON report here (PNG charts go beside it).")
        parser.add_argument("--external-workers", action="store_true",
                            help="Use the workers already running (make run) instead of starting one.")

    def handle(self, *args, **options):
        name = "quick" if options["quick"] else "smoke" if options["smoke"] else "full"
        cfg = replace(PRESETS[name], seed=options["seed"])
        if options["rounds"]:
            cfg = replace(cfg, rounds=options["rounds"])
        if options["brands"]:
            cfg = replace(cfg, brands=options["brands"])
        log = lambda line: self.stdout.write(line)  # noqa: E731
        started = time.monotonic()
        log(f"simulate ({name}): {cfg}")
        # A batch job of ~10^5 queries: DEBUG's per-query log (every SQL string, quoted) cost a tenth of its time.
        debug, settings.DEBUG = settings.DEBUG, False
        try:
            if options["external_workers"]:
                report = run_simulation(cfg, log=log)
            else:
                with WorkerProcess(Path(settings.VAR_DIR) / "simulate-worker.log", env={"DJANGO_DEBUG": "false"}):
                    report = run_simulation(cfg, log=log)
        finally:
            settings.DEBUG = debug
        report["elapsed_s"] = round(time.monotonic() - started, 1)
        text = json.dumps(report, indent=2)
        if options["report"]:
            path: Path = options["report"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            for chart in write_charts(report, path.parent):
                log(f"chart: {chart}")
            log(f"report: {path}")
        for brand, entry in report["brands"].items():
            log(f"{brand}: lift={entry['lift']} ceiling_ctr={entry['ceiling_ctr']:.4f} "
                f"cross_ctr={entry.get('cross_ctr')}")
        log(f"elapsed: {report['elapsed_s']} s")
