"""Snapshot exports as JSONL: DPO pairs (prompt / chosen / rejected) or unpaired rows (prompt / completion / label).

The DPO form is what TRL's DPOTrainer and most DPO tools read; the unpaired form is what
KTO-style trainers read (label true for the chosen text, false for the rejected one).
"""
from __future__ import annotations

import json
from collections.abc import Iterator

from prefcontent.preferences.models import SPLITS, DatasetSnapshot

EXPORT_KINDS = ("dpo", "unpaired")


def export_lines(snapshot: DatasetSnapshot, *, kind: str = "dpo", split: str | None = None,
                 with_weight: bool = False) -> Iterator[str]:
    """JSONL lines (each ending in a newline), in the snapshot's frozen order."""
    if kind not in EXPORT_KINDS:
        raise ValueError(f"kind must be one of {EXPORT_KINDS}")
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}")
    rows = snapshot.rows.order_by("id")
    if split:
        rows = rows.filter(split=split)
    seen: set[tuple[str, str, bool]] = set()
    for prompt, chosen, rejected, weight in rows.values_list("prompt", "chosen", "rejected", "weight").iterator():
        if kind == "dpo":
            row = {"prompt": prompt, "chosen": chosen, "rejected": rejected}
            if with_weight:
                row["weight"] = weight
            yield json.dumps(row, ensure_ascii=False) + "\n"
            continue
        for completion, label in ((chosen, True), (rejected, False)):
            if (prompt, completion, label) in seen:  # a text beaten (or winning) twice is one example
                continue
            seen.add((prompt, completion, label))
            yield json.dumps({"prompt": prompt, "completion": completion, "label": label}, ensure_ascii=False) + "\n"
