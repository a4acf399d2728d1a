"""Export a brand's active adapter for external engines (vLLM, TGI, plain peft).

The adapter is already plain peft LoRA (see ml/adapters.py); the export copies its
verified files unchanged and adds a manifest naming the base model it needs.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from models_store import dir_checksum
from prefcontent.adapters.selectors import adapter_active_for, adapter_local_path
from prefcontent.core.errors import InvalidState

MANIFEST = "prefcontent-export.json"
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)  # ranks vLLM's LoRA kernels accept


@dataclass(frozen=True)
class AdapterExport:
    """What was exported and what an engine needs to serve it."""

    out_dir: str  # directory holding the adapter files and the manifest
    brand_id: int  # the brand the adapter belongs to
    adapter_version_id: int  # AdapterVersion row
    adapter_version: int  # per-brand version number
    sha256: str  # directory checksum of the adapter files (manifest excluded), as published
    base_model_id: str  # base model the adapter was trained on; the engine must load exactly this
    lora_rank: int | None  # LoRA rank from adapter_config.json
    target_modules: list[str]  # modules the LoRA touches
    files: list[str]  # adapter files copied
    warnings: list[str]  # things an external engine may refuse


def _config_warnings(config: dict) -> list[str]:
    warnings = []
    rank = config.get("r")
    if rank not in VLLM_LORA_RANKS:
        warnings.append(f"LoRA rank {rank} is not one vLLM supports ({', '.join(map(str, VLLM_LORA_RANKS))})")
    if config.get("modules_to_save"):
        warnings.append("the adapter has modules_to_save, which vLLM cannot load")
    return warnings


def adapter_export(*, brand, out_dir: Path) -> AdapterExport:
    """Copy the brand's active adapter (checksum-verified) into `out_dir`, which must be new or empty."""
    adapter = adapter_active_for(brand)
    if adapter is None:
        raise InvalidState(f"Brand {brand.pk} has no active adapter to export.", code="no_active_adapter")
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise InvalidState(f"{out_dir} exists and is not an empty directory.", code="export_target_not_empty")
    source = adapter_local_path(adapter)  # raises AdapterArtifactError if the files are damaged
    staging = out_dir.with_name(f".{out_dir.name}.exporting")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging)
    copied = dir_checksum(staging)
    if copied != adapter.sha256:
        shutil.rmtree(staging, ignore_errors=True)
        raise InvalidState(f"The copy of adapter v{adapter.version} does not match its checksum.",
                           code="export_checksum_mismatch")
    config = json.loads((staging / "adapter_config.json").read_text())
    result = AdapterExport(
        out_dir=str(out_dir), brand_id=brand.pk, adapter_version_id=adapter.pk, adapter_version=adapter.version,
        sha256=adapter.sha256, base_model_id=adapter.base_model_id, lora_rank=config.get("r"),
        target_modules=sorted(config.get("target_modules") or []),
        files=sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file()),
        warnings=_config_warnings(config),
    )
    (staging / MANIFEST).write_text(json.dumps(asdict(result), indent=2) + "\n")
    if out_dir.exists():
        out_dir.rmdir()
    os.replace(staging, out_dir)
    return result
