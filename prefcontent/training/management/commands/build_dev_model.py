"""`manage.py build_dev_model [--if-missing] [--quick]`: build the dev base model into settings.DEV_MODEL_DIR."""
from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

# Written last by the build, so its presence means the directory is complete.
COMPLETE_MARKER = "devmodel.json"


def dev_model_ready(path: Path) -> bool:
    return (path / "config.json").is_file() and (path / COMPLETE_MARKER).is_file()


class Command(BaseCommand):
    help = "Train the small dev base model (used when PREFCONTENT_BASE_MODEL is not set) into DEV_MODEL_DIR."

    def add_arguments(self, parser):
        parser.add_argument("--if-missing", action="store_true", help="do nothing when the model is already built")
        parser.add_argument("--quick", action="store_true", help="a tiny model in seconds (for tests and smoke runs)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")

    def handle(self, *args, if_missing: bool, quick: bool, seed: int, threads: int, **options):
        target = Path(settings.DEV_MODEL_DIR)
        if if_missing and dev_model_ready(target):
            self.stdout.write(f"dev model already built at {target}")
            return
        import torch

        from ml.devmodel.build import QUICK, BuildConfig, build

        torch.set_num_threads(threads)
        cfg = dataclasses.replace(QUICK if quick else BuildConfig(), seed=seed)
        # Build beside the target and swap it in, so an interrupted build never looks finished.
        staging = target.with_name(target.name + ".building")
        shutil.rmtree(staging, ignore_errors=True)
        build(staging, cfg, log=lambda line: self.stdout.write(line))
        old = target.with_name(target.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            target.rename(old)
        staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
        self.stdout.write(self.style.SUCCESS(f"dev model built at {target}"))
