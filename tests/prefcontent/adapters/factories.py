"""Adapter versions backed by real (small) artifacts in the test's models store."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings

from models_store import get_store
from prefcontent.adapters.models import AdapterVersion
from prefcontent.adapters.services import adapter_artifact_key
from prefcontent.core.knobs import base_model_path


def make_adapter(brand, *, version: int, status: str = AdapterVersion.Status.RETIRED, tmp_path: Path,
                 passed: bool = True, base_model_id: str | None = None) -> AdapterVersion:
    """Publish a two-file stand-in adapter directory and record it (trained on the configured base by default)."""
    src = tmp_path / f"adapter-src-{brand.pk}-{version}"
    src.mkdir(parents=True, exist_ok=True)
    (src / "adapter_config.json").write_text(f'{{"r": 8, "v": {version}}}')
    (src / "adapter_model.safetensors").write_bytes(bytes(range(256)) * 4)
    ref = get_store(settings.MODELS_STORE_URL).put_dir(src, adapter_artifact_key(brand_id=brand.pk, version=version))
    return AdapterVersion.objects.create(
        brand=brand, version=version, status=status, artifact_key=ref.key, sha256=ref.sha256,
        size_bytes=ref.size_bytes, base_model_id=base_model_path() if base_model_id is None else base_model_id,
        eval_report={"passed": passed, "reasons": [] if passed else ["reward_accuracy: too low"], "checks": []},
    )
