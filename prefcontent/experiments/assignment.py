"""Assignment of units to arms for CMS plugins: sticky, three queries, safe under races.

A running experiment stores each unit's arm the first time it is asked, so later weight
changes (fixed or Thompson) never move a unit. Outside the running state nothing is stored:
a paused or stopped experiment serves a unit's stored arm or the control, a concluded one
serves the winner to everyone. Readers in the brand's persistent holdout (holdout.py) are served
the experiment's human-written (or base-model) arm in every state, stored with `holdout` set.

The hot path is one statement that inserts the assignment or reads the stored one: the API key and
the experiment with its arms are read once per HOT_CACHE_SECONDS per process (core.hot_cache). On
PostgreSQL a new assignment commits asynchronously (ASSIGNMENT_ASYNC_COMMIT): a crash may forget the
last moments of assignments, and `bucket` gives a forgotten unit the same arm again under the same
weights.
"""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from types import SimpleNamespace

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from prefcontent.brands.settings import brand_settings
from prefcontent.core import metrics
from prefcontent.core.errors import InvalidInput, InvalidState, NotFound
from prefcontent.core.fields import parse_id
from prefcontent.core.hot_cache import HotCache
from prefcontent.experiments.allocation import bucket, pick_arm
from prefcontent.experiments.holdout import ArmKind, holdout_arm, is_held_out, variant_kind
from prefcontent.experiments.models import (
    CONCLUDED,
    DRAFT,
    RUNNING,
    Arm,
    Assignment,
    Decision,
)
from prefcontent.experiments.units import unit_hash, unit_id_problem
from prefcontent.tenancy import access
from prefcontent.tenancy.principal import Principal


@dataclass(frozen=True)
class AssignmentResult:
    experiment_id: int  # the experiment asked about
    arm_id: int  # the arm the unit sees
    variant_id: int  # that arm's variant
    text: str  # the variant's text, ready to render
    status: str  # the experiment's status when asked
    sticky: bool  # True when this is the unit's stored assignment (running experiments, or stored before)
    holdout: bool = False  # the unit is in the brand's holdout and sees the human (or base-model) arm


@dataclass(frozen=True)
class _Arm:
    id: int
    weight: float
    is_control: bool
    variant_id: int
    text: str
    kind: str  # holdout.variant_kind of the variant: adapter, base, human or other


# A CMS key's page views read the experiment and its arms once per HOT_CACHE_SECONDS per process: a
# status or weight change reaches other processes within that long (this one drops it at commit).
EXPERIMENTS = HotCache("assignment_experiments")
WINNERS = HotCache("assignment_winners")


def assignment_cache_drop(experiment_id: int) -> None:
    """Call on every write to an experiment's status, arms or weights."""
    EXPERIMENTS.drop(experiment_id)
    WINNERS.drop(experiment_id)


def _arm_rows(qs) -> list[tuple]:
    return list(qs.order_by("id").values_list(
        "id", "weight", "is_control", "variant_id", "variant__text", "variant__source", "variant__adapter_version_id",
        "experiment__status", "experiment__brand_id", "experiment__brand__organization_id",
        "experiment__brand__settings"))


def _experiment_arms(principal: Principal, experiment_id) -> tuple[dict, list[_Arm]]:
    """The experiment (status, brand, organization, the brand's holdout share) and its arms in one
    query; 404 when not visible."""
    pk = parse_id(str(experiment_id))
    if pk is None:  # also ids beyond 64 bits, which the foreign-key lookup would overflow on
        raise NotFound("Experiment not found.")
    if principal.is_api_key:
        rows = EXPERIMENTS.read(pk, lambda: _arm_rows(Arm.objects.filter(experiment_id=pk)))
        if rows and rows[0][8] != principal.api_key_brand_id:
            rows = []
    else:
        rows = _arm_rows(Arm.objects.filter(experiment_id=pk, experiment__brand_id__in=principal.visible_brand_ids()))
    if not rows:
        raise NotFound("Experiment not found.")
    status, brand_id, org_id, stored = rows[0][7:]
    share = brand_settings(SimpleNamespace(pk=brand_id, settings=stored)).holdout_share
    arms = [_Arm(*r[:5], variant_kind(source=r[5], adapter_version_id=r[6])) for r in rows]
    return {"id": pk, "status": status, "brand_id": brand_id, "organization_id": org_id,
            "holdout_share": share}, arms


def _stored_arm(experiment_id: int, hashed: str) -> int | None:
    row = _stored_row(experiment_id, hashed)
    return row[0] if row else None


def _stored_row(experiment_id: int, hashed: str) -> tuple[int, bool] | None:
    return Assignment.objects.filter(experiment_id=experiment_id, unit_hash=hashed).values_list(
        "arm_id", "holdout").first()


def _store(experiment_id: int, arm_id: int, hashed: str, propensity: float | None,
           holdout: bool = False) -> tuple[int, bool]:
    """Insert the assignment (with the chance the unit had of its arm; None for a held-out unit, which was
    not randomised) unless the unit has one; return the stored row's arm and holdout flag either way, since
    the row, not today's share, is what the decision and the lift report count."""
    table = Assignment._meta.db_table
    insert = (f"INSERT INTO {table} (experiment_id, arm_id, unit_hash, propensity, holdout, created_at) "
              "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (experiment_id, unit_hash) DO NOTHING RETURNING arm_id, holdout")
    params = [experiment_id, arm_id, hashed, propensity, holdout,
              connection.ops.adapt_datetimefield_value(timezone.now())]
    sql, postgres = insert, connection.vendor == "postgresql"
    if postgres:
        # One statement: the new row, or the one already stored (visible to this statement's snapshot).
        sql = (f"WITH ins AS ({insert}) SELECT arm_id, holdout FROM ins UNION ALL "
               f"SELECT arm_id, holdout FROM {table} WHERE experiment_id = %s AND unit_hash = %s LIMIT 1")
        params = [*params, experiment_id, hashed]
    # Its own transaction, so the setting cannot reach a caller's writes (events stay flushed at commit).
    async_commit = postgres and settings.ASSIGNMENT_ASYNC_COMMIT and not connection.in_atomic_block
    with transaction.atomic() if async_commit else nullcontext(), connection.cursor() as cursor:
        if async_commit:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is not None:
        return row[0], bool(row[1])
    # A concurrent request stored this unit after our snapshot began: its row is committed now.
    stored = _stored_row(experiment_id, hashed)
    if stored is None:
        raise RuntimeError("assignment neither inserted nor found")
    return stored


def _propensity(arms: list[_Arm], arm_id: int) -> float:
    """The chance pick_arm gives `arm_id` under these weights (equal shares when no weight is positive)."""
    total = sum(max(a.weight, 0.0) for a in arms)
    if total <= 0:
        return 1 / len(arms)
    return max(next(a.weight for a in arms if a.id == arm_id), 0.0) / total


def assignment_for_unit(*, principal: Principal, experiment_id, unit_id) -> AssignmentResult:
    """People may assign too (a marketer previewing a page): the assignment is real, so it needs "assign"."""
    access.capability_require(principal, "assign")
    experiment, arms = _experiment_arms(principal, experiment_id)
    access.brand_ref_require(principal, brand_id=experiment["brand_id"], organization_id=experiment["organization_id"],
                             capability="assign")
    problem = unit_id_problem(unit_id)
    if problem:
        raise InvalidInput(problem, code="invalid_unit_id")
    status, pk = experiment["status"], experiment["id"]
    if status == DRAFT:
        raise InvalidState("This experiment has not started.", code="experiment_not_running")
    hashed = unit_hash(experiment["brand_id"], unit_id)
    control = next(a.id for a in arms if a.is_control)
    held_arm = holdout_arm(ArmKind(a.id, a.is_control, a.kind) for a in arms)
    held = held_arm is not None and is_held_out(experiment["brand_id"], hashed, experiment["holdout_share"])
    sticky = True
    if status == RUNNING:
        if held:
            arm_id, held = _store(pk, held_arm, hashed, None, holdout=True)  # a stored unit keeps its arm
        else:
            chosen = pick_arm([(a.id, a.weight) for a in arms], bucket(pk, hashed))
            arm_id, held = _store(pk, chosen, hashed, _propensity(arms, chosen))
    elif held:  # paused, stopped or concluded: a held-out reader never sees learned copy, not even the winner
        arm_id, sticky = held_arm, False
    elif status == CONCLUDED:
        winner = WINNERS.read(pk, lambda: Decision.objects.filter(experiment_id=pk).values_list(
            "winner_arm_id", flat=True).first())
        arm_id, sticky = winner or control, False
    else:  # paused or stopped: keep what the unit saw, new units see the control
        arm_id = _stored_arm(pk, hashed)
        if arm_id is None:
            arm_id, sticky = control, False
    arm = next(a for a in arms if a.id == arm_id)
    metrics.ASSIGNMENTS.labels(brand=str(experiment["brand_id"]), status=status).inc()
    return AssignmentResult(experiment_id=pk, arm_id=arm.id, variant_id=arm.variant_id, text=arm.text,
                            status=status, sticky=sticky, holdout=held)
