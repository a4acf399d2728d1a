"""Which rows belong to a brand: every model that reaches `brands.Brand` through foreign keys.

Derived from the model graph, not listed by hand, so a new model is covered by export and by
the erasure check the day it is added.
"""
from __future__ import annotations

from collections import deque

from django.apps import apps
from django.db import models

from prefcontent.brands.models import Brand

MAX_DEPTH = 4


def _path_to_brand(model) -> str | None:
    """The shortest lookup from `model` to Brand over non-null-able or nullable forward FKs."""
    queue = deque([(model, "")])
    seen = {model}
    while queue:
        current, path = queue.popleft()
        if path.count("__") >= MAX_DEPTH:
            continue
        for field in current._meta.get_fields():
            if not (isinstance(field, models.ForeignKey | models.OneToOneField) and field.concrete):
                continue
            target = field.related_model
            lookup = f"{path}__{field.name}" if path else field.name
            if target is Brand:
                return lookup
            if target not in seen and target._meta.app_label != "accounts" and target._meta.app_label != "auth":
                seen.add(target)
                queue.append((target, lookup))
    return None


def brand_owned_models() -> list[tuple[type[models.Model], str]]:
    """(model, lookup to brand) for every model whose rows belong to a brand (the audit log excluded:
    it belongs to the organization and must outlive what it records)."""
    owned = []
    for model in apps.get_models():
        if model is Brand or model._meta.label == "accounts.AuditLog":
            continue
        path = _path_to_brand(model)
        if path is not None:
            owned.append((model, path))
    return sorted(owned, key=lambda item: item[0]._meta.label)


def brand_rows(brand_id: int) -> dict[str, int]:
    """Row counts per model that belong to the brand (0 everywhere after erasure)."""
    return {model._meta.label: model.objects.filter(**{path: brand_id}).count()
            for model, path in brand_owned_models()}
