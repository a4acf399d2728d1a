"""Reads of adapter versions: tenant-scoped lists, the active adapter, and verified local files."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db.models import QuerySet

from models_store import get_store
from models_store.errors import ArtifactNotFound, ChecksumMismatch, StoreError
from prefcontent.adapters.models import AdapterVersion
from prefcontent.core.errors import NotFound, ServiceUnavailable
from prefcontent.tenancy import access
from prefcontent.tenancy.principal import Principal, scope_to_principal


class AdapterArtifactError(ServiceUnavailable):
    """An adapter's files are missing or do not match the checksum recorded at publish time."""

    code = "adapter_artifact_invalid"


def adapter_list(*, principal: Principal) -> QuerySet[AdapterVersion]:
    return scope_to_principal(AdapterVersion.objects.all(), principal).select_related("brand")


def adapter_get(*, principal: Principal, adapter_id) -> AdapterVersion:
    adapter = adapter_list(principal=principal).filter(pk=adapter_id).first()
    if adapter is None:
        raise NotFound("Adapter version not found.")
    return adapter


def adapter_active_for(brand) -> AdapterVersion | None:
    """The brand's active adapter version, if it has one (at most one, by constraint)."""
    brand_id = getattr(brand, "pk", brand)
    return AdapterVersion.objects.filter(brand_id=brand_id, status=AdapterVersion.Status.ACTIVE).first()


def adapter_activation_preview(*, principal: Principal, adapter: AdapterVersion) -> AdapterVersion | None:
    """The active version that promoting or rolling back to `adapter` would replace, for a confirmation page.

    Refused like the action itself, so nobody is asked to confirm what they may not do.
    """
    access.brand_require(principal, adapter.brand, "adapters.promote")
    return adapter_active_for(adapter.brand)


def adapter_local_path(adapter: AdapterVersion) -> Path:
    """A local directory holding the adapter's files, after verifying them against the recorded sha256.

    Raises AdapterArtifactError (503, code adapter_artifact_invalid) naming the version when
    the files are missing or damaged; callers must not fall back silently to the base model.
    """
    store = get_store(settings.MODELS_STORE_URL)
    label = f"adapter v{adapter.version} of brand {adapter.brand_id} ({adapter.artifact_key})"
    try:
        return store.get_dir(adapter.artifact_key, adapter.sha256)
    except ChecksumMismatch as exc:
        raise AdapterArtifactError(f"{label} is corrupt: its files no longer match sha256 {adapter.sha256}.",
                                   details={"adapter_id": adapter.pk, "expected": exc.expected,
                                            "actual": exc.actual}) from exc
    except ArtifactNotFound as exc:
        raise AdapterArtifactError(f"{label} is missing from the models store.",
                                   details={"adapter_id": adapter.pk}) from exc
    except StoreError as exc:
        raise AdapterArtifactError(f"{label} cannot be read: {exc}", details={"adapter_id": adapter.pk}) from exc
