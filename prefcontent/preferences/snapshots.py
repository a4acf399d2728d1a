"""Freezing a brand's active pairs into an immutable, content-hashed dataset snapshot."""
from __future__ import annotations

import hashlib
import json

from django.db import transaction
from django.db.models import Count

from prefcontent.accounts.services import audit_record
from prefcontent.brands.models import Brand
from prefcontent.core.errors import InvalidInput, InvalidState
from prefcontent.preferences.bias import bias_report
from prefcontent.preferences.models import (
    ACTIVE,
    HOLDOUT,
    REPAIR_KEY_PREFIX,
    TRAIN,
    DatasetSnapshot,
    PreferencePair,
    SnapshotPair,
)
from prefcontent.tenancy import access
from prefcontent.tenancy.principal import Principal

DEFAULT_HOLDOUT_FRACTION = 0.1


def split_for(pair_hash: str, holdout_fraction: float) -> str:
    """Deterministic split: the first 32 bits of the pair hash as a fraction of 2**32."""
    return HOLDOUT if int(pair_hash[:8], 16) / 2**32 < holdout_fraction else TRAIN


def _content_hash(rows: list[SnapshotPair], split_rule: dict) -> str:
    digest = hashlib.sha256(json.dumps(split_rule, sort_keys=True).encode())
    for row in sorted(rows, key=lambda r: r.pair_hash):
        fields = [row.pair_hash, row.prompt, row.chosen, row.rejected, row.weight, row.split]
        # Only a row that is not imitated adds its flag, so the hashes of snapshots without repairs stay as they were.
        digest.update(json.dumps(fields if row.imitate else [*fields, "no-imitate"], ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()


def snapshot_create(*, principal: Principal, brand: Brand, name: str = "",
                    holdout_fraction: float = DEFAULT_HOLDOUT_FRACTION) -> DatasetSnapshot:
    """Freeze the brand's active pairs now. A brand with no usable pairs gets a 409, not an empty dataset."""
    access.brand_require(principal, brand, "training.write")
    if not 0 <= holdout_fraction < 1:
        raise InvalidInput("holdout_fraction must be in [0, 1).", code="invalid_holdout_fraction")
    with transaction.atomic():
        pairs = list(PreferencePair.objects.filter(brand=brand, status=ACTIVE).order_by("id")
                     .values_list("id", "experiment_id", "pair_hash", "prompt", "chosen", "rejected", "weight",
                                  "prompt_version", "pair_key"))
        if not pairs:
            excluded = dict(PreferencePair.objects.filter(brand=brand).values_list("exclusion_reason")
                            .annotate(n=Count("id")).values_list("exclusion_reason", "n"))
            raise InvalidState("This brand has no usable preference pairs to snapshot.", code="no_usable_pairs",
                               details={"excluded_by_reason": excluded})
        split_rule = {"method": "pair_hash", "holdout_fraction": holdout_fraction}
        # Rule-repair pairs always train: the holdout measures how well an adapter predicts the audience,
        # and a rule the adapter has learned would flatter that figure. Their chosen texts are edits, not
        # winners: training leaves them out of the NLL term (imitate=False).
        repairs = {pk for pk, *_, key in pairs if key.startswith(REPAIR_KEY_PREFIX)}
        unbacked = _unbacked_winners(pairs)
        rows = [SnapshotPair(pair_id=pk, experiment_id=exp_id, pair_hash=h, prompt=prompt, chosen=chosen,
                             rejected=rejected, weight=weight,
                             split=TRAIN if pk in repairs else split_for(h, holdout_fraction),
                             imitate=pk not in repairs and pk not in unbacked)
                for pk, exp_id, h, prompt, chosen, rejected, weight, _, _ in pairs]
        train = sum(r.split == TRAIN for r in rows)
        if train == 0:
            raise InvalidState("Every usable pair fell in the holdout split; lower holdout_fraction.",
                               code="no_train_pairs", details={"pairs": len(rows)})
        excluded = dict(PreferencePair.objects.filter(brand=brand).exclude(status=ACTIVE)
                        .values_list("exclusion_reason").annotate(n=Count("id"))
                        .values_list("exclusion_reason", "n"))
        snapshot = DatasetSnapshot.objects.create(
            brand=brand, name=name, content_hash=_content_hash(rows, split_rule),
            prompt_versions=sorted({p[7] for p in pairs}), split_rule=split_rule,
            counts={"pairs": len(rows), "train": train, "holdout": len(rows) - train, "repair": len(repairs),
                "not_imitated_unbacked_claims": len(unbacked - repairs),
                    "excluded_by_reason": excluded},
            bias_report=bias_report((r.chosen, r.rejected) for r in rows),
            source_experiment_ids=sorted({r.experiment_id for r in rows}),
            created_by_id=principal.user_id,
        )
        for row in rows:
            row.snapshot = snapshot
        SnapshotPair.objects.bulk_create(rows, batch_size=2000)
        audit_record(principal=principal, organization_id=brand.organization_id, brand_id=brand.pk,
                     action="dataset_snapshot.create", target=snapshot,
                     data={"pairs": len(rows), "content_hash": snapshot.content_hash})
    return snapshot


def _unbacked_winners(pairs) -> set[int]:
    """Pairs whose chosen text makes a claim that no fact backs, a brief without facts backing none.

    Such a winner still teaches its preference (DPO), but training does not imitate it (no NLL term):
    imitating winners is how a pretrained model learns their phrasing, and with it "free shipping" or
    "top-rated" that this campaign may not offer (bench/RESULTS.md, 2026-12-04). A brief's facts, or the
    brand's allowed claims, make its claims backed and the winner imitated again.
    """
    from prefcontent.experiments.models import Experiment
    from prefcontent.preferences.building import unsupported_claims

    experiments = Experiment.objects.select_related("brief", "brand").in_bulk({p[1] for p in pairs if p[1]})
    return {pk for pk, exp_id, _, _, chosen, *_ in pairs
            if exp_id in experiments and unsupported_claims(experiments[exp_id], chosen, factless=True)}
