"""An adapter belongs to the base model it was trained on: never served or promoted on another.

The identity is the base's name and directory checksum (`prefcontent.core.base_model.BaseIdentity`),
recorded when the adapter is published. A LoRA adapter applied to another base (a rebuilt dev model,
another checkpoint) loads without complaint and writes nonsense, so the mismatch is refused loudly.
Versions published before the identity was recorded are compared by the base's path.
"""
from __future__ import annotations

from pathlib import Path

from prefcontent.adapters.models import AdapterVersion
from prefcontent.core.base_model import BaseIdentity, base_model_identity
from prefcontent.core.errors import InvalidState
from prefcontent.core.knobs import base_model_path


class BaseModelMismatch(InvalidState):
    code = "base_model_mismatch"


def adapter_base_label(adapter: AdapterVersion) -> str:
    if adapter.base_model_sha256:
        return f"{adapter.base_model_name or adapter.base_model_id} (sha256 {adapter.base_model_sha256[:12]})"
    return adapter.base_model_id or "an unrecorded base"


def adapter_base_mismatch(adapter: AdapterVersion, *, base_path: str | Path | None = None,
                          compute: bool = False) -> str | None:
    """Why `adapter` cannot run on the base at `base_path` (default: the configured one), or None when it can
    (or nobody can tell yet).

    `compute=False` (the web tier) never hashes a model directory; the worker that serves does.
    """
    current_path = Path(base_path if base_path is not None else base_model_path()).absolute()
    if adapter.base_model_sha256:
        current = base_model_identity(current_path, compute=compute)
        if current is None or current.sha256 == adapter.base_model_sha256:
            return None
        return _reason(adapter, current.short())
    if not adapter.base_model_id:
        return None
    if Path(adapter.base_model_id).absolute().resolve() == current_path.resolve():
        return None
    return _reason(adapter, str(current_path.name))


def _reason(adapter: AdapterVersion, current: str) -> str:
    return (f"Adapter v{adapter.version} was trained on the base model {adapter_base_label(adapter)}, not on the one "
            f"in use, {current}. Train a new adapter on this base (or go back to that base).")


def adapter_require_same_base(adapter: AdapterVersion, *, compute: bool = False, action: str = "served") -> None:
    """Raise BaseModelMismatch (409) when `adapter` was trained on another base than the configured one."""
    reason = adapter_base_mismatch(adapter, compute=compute)
    if reason is not None:
        raise BaseModelMismatch(f"{reason} It cannot be {action}.", details={
            "adapter_version": adapter.version,
            "adapter_base": {"name": adapter.base_model_name, "sha256": adapter.base_model_sha256},
        })


def identity_fields(identity: BaseIdentity | None) -> dict:
    """The AdapterVersion fields that record `identity`."""
    if identity is None:
        return {}
    return {"base_model_name": identity.name, "base_model_sha256": identity.sha256}
