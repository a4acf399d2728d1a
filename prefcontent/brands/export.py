"""Brand export for portability: every row the brand owns as JSON lines, plus its adapter files.

    OUT/manifest.json                 brand, counts per model, adapters with checksums
    OUT/data/<app>.<model>.jsonl      Django's serialisation of each row
    OUT/adapters/v<N>/                the adapter directories, verified against their checksums
    OUT/lift.json                     the lift report over its holdout (clicks and conversions, the last
                                      104 weeks): what the learned copy gained, as the brand saw it

API keys are credentials, not content: they are not exported (a new home issues new ones).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from django.conf import settings
from django.core import serializers
from django.utils import timezone

from prefcontent.brands.models import Brand
from prefcontent.brands.ownership import brand_owned_models

NOT_EXPORTED = {"accounts.ApiKey"}


def exported_models():
    return [(model, path) for model, path in brand_owned_models() if model._meta.label not in NOT_EXPORTED]


def _lift(brand: Brand) -> dict:
    from prefcontent.experiments.lift import MAX_WEEKS, lift_report_for_brand, lift_window

    window = lift_window(weeks=MAX_WEEKS)
    return {metric: lift_report_for_brand(brand=brand, window=window, metric=metric)
            for metric in ("click", "conversion")}


def brand_export(*, brand: Brand, out_dir: Path) -> dict:
    from models_store import get_store

    out_dir = Path(out_dir)
    (out_dir / "data").mkdir(parents=True, exist_ok=False)
    counts = {}
    with open(out_dir / "data" / "brands.brand.jsonl", "w") as fh:
        serializers.serialize("jsonl", [brand], stream=fh)
    for model, path in exported_models():
        queryset = model.objects.filter(**{path: brand.pk}).order_by("pk")
        with open(out_dir / "data" / f"{model._meta.label_lower}.jsonl", "w") as fh:
            serializers.serialize("jsonl", queryset.iterator(chunk_size=2000), stream=fh)
        counts[model._meta.label] = queryset.count()
    adapters = []
    AdapterVersion = next(m for m, _ in brand_owned_models() if m._meta.label == "adapters.AdapterVersion")
    store = get_store(settings.MODELS_STORE_URL)
    for adapter in AdapterVersion.objects.filter(brand=brand).order_by("version"):
        if not adapter.artifact_key:
            continue
        source = store.get_dir(adapter.artifact_key, adapter.sha256)
        shutil.copytree(source, out_dir / "adapters" / f"v{adapter.version}")
        adapters.append({"version": adapter.version, "status": adapter.status, "sha256": adapter.sha256,
                         "base_model_id": adapter.base_model_id, "path": f"adapters/v{adapter.version}"})
    (out_dir / "lift.json").write_text(json.dumps(_lift(brand), indent=2))
    manifest = {"brand": {"id": brand.pk, "name": brand.name, "slug": brand.slug},
                "exported_at": timezone.now().isoformat(), "counts": counts, "adapters": adapters,
                "lift": "lift.json"}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest
