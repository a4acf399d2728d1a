"""The persistent holdout: a share of each brand's readers who never see learned copy.

Membership is a keyed hash of the reader: HMAC of the stored unit hash under a key derived from
settings.UNIT_HASH_KEY with its own salt ("holdout:<brand>"), so it is the same in every experiment
and session of the brand, cannot be computed without the key, and is independent of the arm
bucket (allocation.bucket hashes experiment and unit without that key). A reader is held out when
their point in [0, 1) is below the brand's `holdout_share`: shrinking the share keeps a subset of
the same readers, growing it adds new ones.

Where a held-out reader is served: the experiment's human-written arm (the control if it is one),
else a base-model arm; never an adapter's copy. A variant is adapter copy when generation recorded
the adapter that wrote it (`Variant.adapter_version_id`), base-model copy when it was generated with
no adapter, human copy when a person wrote or imported it. An experiment with no learned or
generated arm holds nobody out (every arm is already copy the brand would have run).
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from scipy import stats as sps

from prefcontent.experiments.models import COUNTER_FIELD, Arm

ADAPTER, BASE, HUMAN, OTHER = "adapter", "base", "human", "other"
HUMAN_SOURCES = ("human", "imported")


def variant_kind(*, source: str, adapter_version_id: int | None) -> str:
    """adapter, base (generated without an adapter), human (written or imported) or other (a rule repair)."""
    if adapter_version_id is not None:
        return ADAPTER
    if source == "generated":
        return BASE
    return HUMAN if source in HUMAN_SOURCES else OTHER


@dataclass(frozen=True)
class ArmKind:
    arm_id: int
    is_control: bool
    kind: str  # variant_kind of the arm's variant


def holdout_arm(arms: Iterable[ArmKind]) -> int | None:
    """The arm held-out readers see, or None when the experiment holds nobody out: the control if it
    is human copy, else the first human arm, else the control if base-model copy, else the first
    base-model arm. None also when every arm is human copy (nothing to hold out from)."""
    arms = sorted(arms, key=lambda a: (not a.is_control, a.arm_id))
    if all(a.kind == HUMAN for a in arms):
        return None
    for kind in (HUMAN, BASE):
        for arm in arms:
            if arm.kind == kind:
                return arm.arm_id
    return None


def needs_holdout_arm(kinds: Iterable[str]) -> bool:
    """True when an experiment of these variant kinds could hold nobody out: adapter copy with no human
    or base-model arm beside it."""
    kinds = set(kinds)
    return ADAPTER in kinds and not kinds & {HUMAN, BASE}


@lru_cache(maxsize=4096)
def _holdout_mac(secret: str, brand_id: int) -> hmac.HMAC:
    key = hmac.new(secret.encode(), f"holdout:{brand_id}".encode(), hashlib.sha256).digest()
    return hmac.new(key, digestmod=hashlib.sha256)


def holdout_point(brand_id: int, unit_hash: str) -> float:
    """The reader's fixed place in [0, 1) for the brand's holdout."""
    mac = _holdout_mac(settings.UNIT_HASH_KEY, brand_id).copy()
    mac.update(unit_hash.encode())
    return int.from_bytes(mac.digest()[:8], "big") / 2**64


def is_held_out(brand_id: int, unit_hash: str, share: float) -> bool:
    return share > 0 and holdout_point(brand_id, unit_hash) < share


def holdout_share_p(held: int, total: int, share: float) -> float | None:
    """Two-sided binomial p-value of `held` held-out readers among `total` at the planned share (the
    sample-ratio check on the holdout); None when there is nothing to check."""
    if total <= 0 or not 0 < share < 1:
        return None
    return float(sps.binomtest(held, total, share).pvalue)


def holdout_arm_counts(experiment_ids: list[int]) -> dict[int, dict[int, tuple[int, int, int]]]:
    """experiment id -> arm id -> (readers, impressions, primary-metric events) of held-out readers, from
    the arms' `held_*` counters that ingestion keeps (counters.py): what the decision subtracts from the
    arms' event counters, which ingestion increments for every reader."""
    out: dict[int, dict[int, tuple[int, int, int]]] = {}
    for exp_id, arm_id, n, i, s in Arm.objects.filter(experiment_id__in=experiment_ids, held_readers__gt=0).values_list(
            "experiment_id", "id", "held_readers", "held_impressions", "held_successes"):
        out.setdefault(exp_id, {})[arm_id] = (n, i, s)
    return out


def holdout_summary(*, held: dict[int, tuple[int, int, int]], assigned: int, held_assigned: int, metric: str,
                    share: float, srm_p: float) -> dict:
    """The held-out readers of an experiment, counted apart from the decision (its evidence's "holdout"):
    `held` is holdout_arm_counts' entry, `assigned` / `held_assigned` the experiment's assignments."""
    p = holdout_share_p(held_assigned, assigned, share)
    return {"share": share, "readers": held_assigned, "assigned": assigned,
            "exposed_readers": sum(n for n, _, _ in held.values()),
            "impressions": sum(i for _, i, _ in held.values()),
            COUNTER_FIELD[metric]: sum(s for _, _, s in held.values()), "srm_p_value": p,
            "srm_flag": p is not None and p < srm_p}
