"""`manage.py build_dev_model [--if-missing] [--quick] [--attempts N]`: build the dev base model into DEV_MODEL_DIR.

The build is never cut short: it either meets its quality bar (parse rate) and is swapped into place,
or it is retried with the next seed, and after the last attempt the command fails (exit 1) with the
reason in the log and in the base-model status record (`GET /api/v1/status`). A failed build leaves
the previous model, if any, where it was, and never writes the "built" marker.
"""
from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from prefcontent.core.base_model import FAILED, PREPARING, READY, base_model_identity, base_model_status_write

# Written last by the build, so its presence means the directory is complete and met its bar.
COMPLETE_MARKER = "devmodel.json"
NAME = "PrefContent dev model"


def dev_model_ready(path: Path) -> bool:
    return (path / "config.json").is_file() and (path / COMPLETE_MARKER).is_file()


class Command(BaseCommand):
    help = "Train the small dev base model (for tests and the CI smoke run) into DEV_MODEL_DIR."

    def add_arguments(self, parser):
        parser.add_argument("--if-missing", action="store_true", help="do nothing when the model is already built")
        parser.add_argument("--quick", action="store_true", help="a tiny model in seconds (tests, smoke runs; no bar)")
        parser.add_argument("--seed", type=int, default=0, help="seed of the first attempt; each retry adds 1")
        parser.add_argument("--attempts", type=int, default=3, help="builds with other seeds before failing")
        parser.add_argument("--parse-bar", type=float, default=None, help="override the share of copy that must parse")
        parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")

    def handle(self, *args, if_missing: bool, quick: bool, seed: int, attempts: int, parse_bar: float | None,
               threads: int, **options):
        target = Path(settings.DEV_MODEL_DIR)
        if if_missing and dev_model_ready(target):
            identity = base_model_identity(target)
            base_model_status_write(state=READY, path=target, name=NAME, detail=f"built earlier (sha256 {identity.sha256[:12]})")
            self.stdout.write(f"dev model already built at {target}")
            return
        import torch

        from ml.devmodel.build import QUICK, BuildConfig, BuildFailed, build_with_retries

        torch.set_num_threads(threads)
        cfg = dataclasses.replace(QUICK if quick else BuildConfig(), seed=seed)
        if parse_bar is not None:
            cfg = dataclasses.replace(cfg, parse_bar=parse_bar)

        def log(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()
            base_model_status_write(state=PREPARING, path=target, name=NAME,
                                    detail=f"building ({cfg.max_steps} steps per attempt): {line}")

        base_model_status_write(state=PREPARING, path=target, name=NAME, detail="starting the build")
        # Build beside the target and swap it in, so an interrupted or failed build never looks finished.
        staging = target.with_name(target.name + ".building")
        try:
            stats = build_with_retries(staging, cfg, attempts=attempts, log=log)
        except BuildFailed as exc:
            shutil.rmtree(staging, ignore_errors=True)
            base_model_status_write(state=FAILED, path=target, name=NAME, detail=str(exc))
            raise CommandError(f"dev model build FAILED: {exc}") from exc
        except BaseException as exc:
            base_model_status_write(state=FAILED, path=target, name=NAME, detail=f"build stopped: {exc!r}")
            raise
        old = target.with_name(target.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            target.rename(old)
        staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
        parse_rate = stats.get("eval", {}).get("parse_rate")
        identity = base_model_identity(target)  # hashed now, so the web tier can compare adapters with it
        base_model_status_write(state=READY, path=target, name=NAME,
                                detail=(f"parse rate {parse_rate:.2f}, " if parse_rate is not None else "")
                                + f"sha256 {identity.sha256[:12]}; adapters of an earlier build are not served on it")
        self.stdout.write(self.style.SUCCESS(f"dev model built at {target}"))
