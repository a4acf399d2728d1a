"""Writes on adapter versions: publishing a trained adapter, promotion, rollback."""
from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from models_store import get_store
from models_store.errors import ArtifactExists
from prefcontent.accounts.services import audit_record
from prefcontent.adapters.base_match import adapter_base_mismatch, adapter_require_same_base, identity_fields
from prefcontent.adapters.models import AdapterVersion
from prefcontent.adapters.selectors import adapter_local_path
from prefcontent.brands.models import Brand
from prefcontent.brands.settings import brand_settings
from prefcontent.core import metrics
from prefcontent.core.base_model import base_model_identity
from prefcontent.core.errors import InvalidState
from prefcontent.tenancy import access
from prefcontent.tenancy.principal import SYSTEM, Principal

logger = logging.getLogger(__name__)


def brand_lock(brand_id: int) -> Brand:
    """Serialise per-brand writes until the transaction ends.

    A no-op UPDATE rather than SELECT FOR UPDATE: on SQLite it takes the write lock up front,
    so a transaction that reads, then copies files, then writes cannot lose its snapshot to
    the heartbeat thread's commits ("database is locked"); on PostgreSQL it is a row lock.
    """
    Brand.objects.filter(pk=brand_id).update(id=F("id"))
    return Brand.objects.get(pk=brand_id)


def adapter_artifact_key(*, brand_id: int, version: int) -> str:
    return f"brands/{brand_id}/adapters/v{version}"


def adapter_version_publish(*, run, adapter_dir: Path, eval_report: dict, model_card: Callable[[int], str],
                            passed: bool) -> AdapterVersion:
    """Copy the adapter into the models store and record it: candidate if the gate passed, else rejected.

    `model_card(version)` renders the card once the version number is known.

    Must run inside a transaction; it locks the brand row so versions stay dense and
    monotonic. The row, with the checksum, is written only after put_dir returned, so no
    reader can reach a half-written artifact. A store write failure raises StoreError and
    leaves nothing behind. The identity (name, checksum) of the base it was trained on is recorded.
    """
    brand = brand_lock(run.brand_id)
    version = (AdapterVersion.objects.filter(brand=brand).aggregate(v=Max("version"))["v"] or 0) + 1
    key = adapter_artifact_key(brand_id=brand.pk, version=version)
    store = get_store(settings.MODELS_STORE_URL)
    try:
        ref = store.put_dir(adapter_dir, key)
    except ArtifactExists:
        # No row names this key (we hold the brand lock and v<version> is free): a publish that
        # crashed between the store and the database left it. Nobody can read it; replace it.
        logger.warning("replacing orphan artifact %s", key)
        store.delete(key)
        ref = store.put_dir(adapter_dir, key)
    return AdapterVersion.objects.create(
        brand=brand, version=version, artifact_key=ref.key, sha256=ref.sha256, size_bytes=ref.size_bytes,
        base_model_id=run.base_model_id, **identity_fields(base_model_identity(run.base_model_id)),
        run=run, snapshot_id=run.snapshot_id, eval_report=eval_report, model_card=model_card(version),
        status=AdapterVersion.Status.CANDIDATE if passed else AdapterVersion.Status.REJECTED,
    )


def _activate(adapter: AdapterVersion, *, how: str) -> AdapterVersion:
    now = timezone.now()
    AdapterVersion.objects.filter(brand_id=adapter.brand_id, status=AdapterVersion.Status.ACTIVE).exclude(
        pk=adapter.pk).update(status=AdapterVersion.Status.RETIRED)
    adapter.status = AdapterVersion.Status.ACTIVE
    adapter.promoted_at = now
    adapter.save(update_fields=["status", "promoted_at"])
    metrics.ADAPTERS_PROMOTED.labels(brand=str(adapter.brand_id), how=how).inc()
    return adapter


@transaction.atomic
def adapter_auto_promote(*, adapter: AdapterVersion) -> AdapterVersion:
    """Activate a candidate that passed the gate, when its brand auto-promotes (the default)."""
    brand = brand_lock(adapter.brand_id)
    if adapter.status != AdapterVersion.Status.CANDIDATE or not brand_settings(brand).auto_promote:
        return adapter
    if (mismatch := adapter_base_mismatch(adapter, compute=True)) is not None:
        logger.warning("not auto-promoting adapter v%s of brand %s: %s", adapter.version, brand.pk, mismatch)
        return adapter
    _activate(adapter, how="auto")
    audit_record(principal=SYSTEM, organization_id=brand.organization_id, action="adapter.auto_promote",
                 target=adapter, brand_id=brand.pk, data={"version": adapter.version})
    return adapter


def _locked(adapter: AdapterVersion) -> AdapterVersion:
    brand_lock(adapter.brand_id)
    return AdapterVersion.objects.select_for_update().get(pk=adapter.pk)


@transaction.atomic
def adapter_promote(*, principal: Principal, adapter: AdapterVersion) -> AdapterVersion:
    """Make a candidate (or a retired version) the brand's active adapter; the previous one retires."""
    access.brand_require(principal, adapter.brand, "adapters.promote")
    adapter = _locked(adapter)
    if adapter.status not in (AdapterVersion.Status.CANDIDATE, AdapterVersion.Status.RETIRED):
        raise InvalidState(f"Adapter v{adapter.version} is {adapter.status}; only a candidate or retired "
                           "version can be promoted.", details={"status": adapter.status})
    previous = AdapterVersion.objects.filter(brand_id=adapter.brand_id, status=AdapterVersion.Status.ACTIVE).first()
    adapter_require_same_base(adapter, action="promoted")  # 409: it would write nonsense on this base
    adapter_local_path(adapter)  # refuse to serve damaged files; the active version stays as it is
    _activate(adapter, how="manual")
    audit_record(principal=principal, organization_id=adapter.brand.organization_id, action="adapter.promote",
                 target=adapter, brand_id=adapter.brand_id,
                 data={"version": adapter.version, "previous_version": previous.version if previous else None})
    return adapter


@transaction.atomic
def adapter_rollback(*, principal: Principal, adapter: AdapterVersion) -> AdapterVersion:
    """Re-activate an earlier version than the active one (retired or never promoted, not rejected)."""
    access.brand_require(principal, adapter.brand, "adapters.promote")
    adapter = _locked(adapter)
    active = AdapterVersion.objects.filter(brand_id=adapter.brand_id, status=AdapterVersion.Status.ACTIVE).first()
    if active is None or active.version <= adapter.version:
        raise InvalidState("Rollback goes to a version older than the active one.",
                           details={"active_version": active.version if active else None})
    if adapter.status == AdapterVersion.Status.REJECTED:
        raise InvalidState(f"Adapter v{adapter.version} failed the promotion gate and cannot be activated.",
                           details={"reasons": adapter.eval_report.get("reasons", [])})
    adapter_require_same_base(adapter, action="activated")
    adapter_local_path(adapter)
    _activate(adapter, how="rollback")
    audit_record(principal=principal, organization_id=adapter.brand.organization_id, action="adapter.rollback",
                 target=adapter, brand_id=adapter.brand_id,
                 data={"version": adapter.version, "from_version": active.version})
    return adapter
