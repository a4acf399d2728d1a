"""Dataset snapshots and training runs for the training and adapters tests."""
from __future__ import annotations

import hashlib

from prefcontent.preferences.models import DatasetSnapshot, SnapshotPair

CHOSEN = "Fresh running shoes for your morning"
REJECTED = "Buy now buy now cheap"


def make_snapshot(brand, *, train: int = 16, holdout: int = 8) -> DatasetSnapshot:
    """A frozen snapshot whose pairs share one learnable preference (CHOSEN over REJECTED)."""
    snapshot = DatasetSnapshot.objects.create(
        brand=brand, name="test", content_hash=hashlib.sha256(f"{brand.pk}-{train}-{holdout}".encode()).hexdigest(),
        split_rule={"method": "pair_hash", "holdout_fraction": holdout / max(1, train + holdout)},
        counts={"pairs": train + holdout, "train": train, "holdout": holdout},
    )
    rows = []
    for i in range(train + holdout):
        split = "holdout" if i < holdout else "train"
        prompt = f"Brand: {brand.name}\nProduct: shoes {i}\nWrite a headline:"
        rows.append(SnapshotPair(snapshot=snapshot, experiment_id=0, pair_hash=f"{i:064x}", prompt=prompt,
                                 chosen=CHOSEN, rejected=REJECTED, weight=1.0, split=split))
    SnapshotPair.objects.bulk_create(rows)
    return snapshot
