"""Reads of the preferences app."""
from __future__ import annotations

from datetime import datetime

from django.db.models import Count, QuerySet

from ml.config import PreferenceExample
from prefcontent.brands.models import Brand
from prefcontent.core.errors import InvalidInput
from prefcontent.preferences.bias import bias_report
from prefcontent.preferences.models import (
    ACTIVE,
    EXCLUSION_REASONS,
    PAIR_STATUSES,
    DatasetSnapshot,
    PreferencePair,
)
from prefcontent.tenancy.principal import Principal, scope_to_principal


def pair_list(*, principal: Principal, status: str | None = None, reason: str | None = None,
              experiment_id: int | None = None) -> QuerySet[PreferencePair]:
    """Pairs the principal may see; `reason` matches any of a pair's exclusion reasons."""
    qs = scope_to_principal(PreferencePair.objects.all(), principal)
    if status:
        if status not in PAIR_STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(PAIR_STATUSES)}.", code="invalid_status")
        qs = qs.filter(status=status)
    if reason:
        if reason not in EXCLUSION_REASONS:
            raise InvalidInput(f"reason must be one of {', '.join(EXCLUSION_REASONS)}.", code="invalid_reason")
        qs = qs.filter(exclusion_codes__contains=f"|{reason}|")
    if experiment_id is not None:
        qs = qs.filter(experiment_id=experiment_id)
    return qs.order_by("-id")


def pair_report(*, brand: Brand) -> dict:
    """Counts by status and exclusion reason, and the bias report of the active pairs."""
    pairs = PreferencePair.objects.filter(brand=brand)
    by_status = dict(pairs.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    by_reason = dict(pairs.exclude(status=ACTIVE).values_list("exclusion_reason").annotate(n=Count("id"))
                     .values_list("exclusion_reason", "n"))
    active = pairs.filter(status=ACTIVE).values_list("chosen", "rejected").iterator()
    return {"brand": brand.pk, "active": by_status.get(ACTIVE, 0), "excluded": sum(by_reason.values()),
            "excluded_by_reason": by_reason, "bias": bias_report(active)}


def snapshot_list(*, principal: Principal) -> QuerySet[DatasetSnapshot]:
    return scope_to_principal(DatasetSnapshot.objects.all(), principal).order_by("-id")


def snapshot_examples(snapshot: DatasetSnapshot) -> list[PreferenceExample]:
    """The snapshot's frozen rows as training examples, in their frozen order."""
    rows = snapshot.rows.order_by("id").values_list("prompt", "chosen", "rejected", "weight", "split", "imitate")
    return [PreferenceExample(prompt=p, chosen=c, rejected=r, weight=w, split=s, imitate=i)
            for p, c, r, w, s, i in rows]


def pairs_usable_since(brand: Brand, since: datetime | None) -> int:
    """Active pairs of the brand created after `since` (all of them for None): the retrain threshold's input."""
    qs = PreferencePair.objects.filter(brand=brand, status=ACTIVE)
    return qs.filter(created_at__gt=since).count() if since is not None else qs.count()
