"""Writes for brands."""
from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from prefcontent.accounts.models import Organization
from prefcontent.accounts.services import audit_record
from prefcontent.brands.models import Brand
from prefcontent.brands.settings import brand_settings_clean, brand_settings_with
from prefcontent.core.errors import Conflict, InvalidInput
from prefcontent.core.hot_cache import hot_caches_clear
from prefcontent.core.queue import enqueue_on_commit
from prefcontent.tenancy import access
from prefcontent.tenancy.principal import Principal

EDITABLE_FIELDS = ("name", "voice", "locale", "settings")


def brand_create(
    *, principal: Principal, organization: Organization, name: str, slug: str = "", voice: str = "",
    locale: str = "en-US", settings: dict | None = None,
) -> Brand:
    access.organization_require(principal, organization, "brands.manage")
    slug = slug or slugify(name)[:80]
    if not slug:
        raise InvalidInput("A brand needs a name that makes a slug.", code="invalid_slug")
    settings = brand_settings_clean(settings or {})
    try:
        with transaction.atomic():
            brand = Brand.objects.create(
                organization=organization, name=name, slug=slug, voice=voice, locale=locale, settings=settings
            )
            audit_record(principal=principal, organization_id=organization.pk, brand_id=brand.pk,
                         action="brand.create", target=brand)
    except IntegrityError:
        raise Conflict(f"A brand with slug '{slug}' already exists in this organization.") from None
    return brand


@transaction.atomic
def brand_update(*, principal: Principal, brand: Brand, **changes) -> Brand:
    access.brand_require(principal, brand, "brands.edit")
    changed = {k: v for k, v in changes.items() if k in EDITABLE_FIELDS}
    if "settings" in changed:  # replaces the whole object: a key left out goes back to its default
        changed["settings"] = brand_settings_clean(changed["settings"])
    for key, value in changed.items():
        setattr(brand, key, value)
    brand.save(update_fields=list(changed) or None)
    audit_record(principal=principal, organization_id=brand.organization_id, brand_id=brand.pk,
                 action="brand.update", target=brand, data={"fields": sorted(changed)})
    return brand


@transaction.atomic
def brand_settings_update(*, principal: Principal, brand: Brand, changes: dict) -> Brand:
    """Set some settings and leave the others as stored; a None value unsets its key (back to the default)."""
    access.brand_require(principal, brand, "brands.edit")
    brand = Brand.objects.select_for_update().get(pk=brand.pk)
    brand.settings = brand_settings_with(brand, **changes)
    brand.save(update_fields=["settings"])
    hot_caches_clear()  # assignment reads the holdout share from cached rows
    audit_record(principal=principal, organization_id=brand.organization_id, brand_id=brand.pk,
                 action="brand.update", target=brand, data={"fields": ["settings"], "settings": sorted(changes)})
    return brand


def brand_artifact_prefix(brand_id: int) -> str:
    """Every artifact of a brand lives under this models-store prefix."""
    return f"brands/{brand_id}"


def brand_delete(*, principal: Principal, brand: Brand) -> None:
    """Erase a brand: every row that belongs to it (by cascade), and, retried until done, every artifact
    in the models store, every training work directory and its adapters in the generate workers
    (prefcontent.brands.erasure)."""
    access.brand_require(principal, brand, "brands.manage")
    from prefcontent.brands.erasure import ERASURE_SWEEP_TASK, brand_erasure_record
    from prefcontent.training.models import TrainingRun

    brand_id = brand.pk
    with transaction.atomic():
        audit_record(principal=principal, organization_id=brand.organization_id, brand_id=brand_id,
                     action="brand.delete", target=brand, data={"name": brand.name})
        _delete_schedules(brand)
        run_ids = list(TrainingRun.objects.filter(brand_id=brand_id).values_list("pk", flat=True))
        brand.delete()
        hot_caches_clear()  # its keys and experiments stop answering in this process at once
        brand_erasure_record(brand_id=brand_id, run_ids=run_ids)
        enqueue_on_commit(ERASURE_SWEEP_TASK)


def _delete_schedules(brand: Brand) -> None:
    """Beat tasks are not rows of the brand (no foreign key to it): remove the brand's retrain schedule."""
    from prefcontent.training.policies import retrain_policy_delete_schedule
    from prefcontent.training.policy_models import RetrainPolicy

    for policy in RetrainPolicy.objects.filter(brand=brand):
        retrain_policy_delete_schedule(policy=policy)

