"""`manage.py simulate`: R rounds of the closed loop per simulated brand, through the real system.

    python manage.py simulate --quick --report var/sim/report.json

    python manage.py simulate --base /path/to/SmolLM2-135M-Instruct --quick

`--quick` is 2 brands, round 0 (base model) and rounds 1-3 (each after a training run) on the
configured base model (the dev model by default). `--base` runs it on another base model, a local
Hugging Face directory, with the training recipe for a pretrained model (REAL_BASE_LEARNING_RATE, REAL_BASE_MAX_EPOCHS,
REAL_BASE_ENTROPY_FLOOR).
`--smoke` is the CI plumbing check: 1 brand, 1 trained round, small traffic, and whatever base model
is configured (the tests point it at a tiny model).
"""
from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

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

# The dev model is ~1M parameters and needs a large LoRA step; a pretrained model moves with a small one
# and is slow on a CPU, so it trains at most two passes.
REAL_BASE_LEARNING_RATE = 2e-4
REAL_BASE_MAX_EPOCHS = 2
# A pretrained model imitating winners that share a few phrasings loses its spread (the NLL term); the
# entropy floor keeps most of it for most of the lift (bench/recipe_diversity.py, RESULTS.md).
REAL_BASE_ENTROPY_FLOOR = 1.0


def resolve_base(value: str) -> Path:
    """A base model given by path (a Hugging Face causal-LM directory), "dev" for the dev model, or the
    name of a packaged base (`smollm2`) that `manage.py install_base_model` put in the models store."""
    from ml.base_models import PACKAGED
    from prefcontent.training.management.commands.install_base_model import installed_path

    if value == "dev":
        path = Path(settings.DEV_MODEL_DIR)
    elif value in PACKAGED:
        path = installed_path(value)
        if not (path / "config.json").is_file():
            raise CommandError(f"--base {value}: not installed yet; run `manage.py install_base_model {value}`.")
    else:
        path = Path(value).expanduser()
    if not (path / "config.json").is_file():
        raise CommandError(f"--base {value!r}: {path} is not a Hugging Face model directory (no config.json). "
                           f"Give the directory of a converted or downloaded model, \"dev\" or one of {sorted(PACKAGED)}.")
    return path.resolve()


class Command(BaseCommand):
    help = "Run the closed loop (generate → test → pairs → train → gate → generate) on simulated audiences."

    def add_arguments(self, parser):
        preset = parser.add_mutually_exclusive_group()
        preset.add_argument("--quick", action="store_true", help="2 brands, rounds 0-3 (about 15 min on a CPU).")
        preset.add_argument("--smoke", action="store_true", help="1 brand, 2 rounds, tiny traffic (CI).")
        parser.add_argument("--rounds", type=int)
        parser.add_argument("--brands", type=int, choices=(1, 2))
        parser.add_argument("--base", help="Base model directory (a Hugging Face causal LM), or \"dev\"; "
                                           "default: PREFCONTENT_BASE_MODEL, else the dev model. With "
                                           "--external-workers, those workers must serve the same base.")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--claim-guard", choices=("block", "flag", "off"),
                            help="The brands' claim_guard (default block); off for the comparison run.")
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
        if options["claim_guard"]:
            cfg = replace(cfg, claim_guard=options["claim_guard"])
        env = {"DJANGO_DEBUG": "false"}
        if options["base"]:
            base = resolve_base(options["base"])
            if base != Path(settings.DEV_MODEL_DIR).resolve():
                cfg = replace(cfg, learning_rate=REAL_BASE_LEARNING_RATE, entropy_floor=REAL_BASE_ENTROPY_FLOOR,
                              train_epochs=min(cfg.train_epochs, REAL_BASE_MAX_EPOCHS))
            # This process submits the runs and jobs (they record the base); the worker it starts serves and trains it.
            settings.PREFCONTENT_BASE_MODEL = env["PREFCONTENT_BASE_MODEL"] = str(base)
        log = lambda line: self.stdout.write(line)  # noqa: E731
        started = time.monotonic()
        log(f"simulate ({name}) on {settings.PREFCONTENT_BASE_MODEL or settings.DEV_MODEL_DIR}: {cfg}")
        # A batch job of ~10^5 queries: DEBUG's per-query log (every SQL string, quoted) cost a tenth of its time.
        debug, settings.DEBUG = settings.DEBUG, False
        try:
            if options["external_workers"]:
                report = run_simulation(cfg, log=log)
            else:
                with WorkerProcess(Path(settings.VAR_DIR) / "simulate-worker.log", env=env):
                    report = run_simulation(cfg, log=log)
        finally:
            settings.DEBUG = debug
        report["elapsed_s"] = round(time.monotonic() - started, 1)
        report["base_model"] = settings.PREFCONTENT_BASE_MODEL or str(settings.DEV_MODEL_DIR)
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
                f"headroom_captured={entry['headroom_captured']} cross_ctr={entry.get('cross_ctr')}")
        log(f"elapsed: {report['elapsed_s']} s")
