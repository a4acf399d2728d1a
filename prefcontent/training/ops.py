"""Ops views of the work queues and the one ops repair that is not cancel/retry: requeueing a stuck run."""
from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from prefcontent.accounts.services import audit_record
from prefcontent.brands.models import Brand
from prefcontent.core.errors import Forbidden, InvalidState
from prefcontent.generation.models import GenerationJob
from prefcontent.tenancy import access
from prefcontent.tenancy.principal import Principal
from prefcontent.training.models import TrainingRun
from prefcontent.training.policies import max_concurrent_runs
from prefcontent.training.services import training_run_enqueue

State = TrainingRun.State
QUEUED_SHOWN = 100  # the oldest queued runs listed; counts cover all of them


@dataclass(frozen=True)
class QueuedRun:
    """A queued run and how long it has waited."""

    id: int  # the run
    brand_id: int  # its brand
    age_s: float  # seconds since it was created
    enqueued_at: object  # last time a task was sent for it (None: never or lost)


@dataclass(frozen=True)
class OpsQueue:
    """The training and generation queues across the brands an ops principal may see."""

    brand_ids: list[int]  # brands covered
    max_concurrent_runs: int  # the retrain policies' global GPU limit
    training_by_state: dict[str, int]  # every state, zeros included
    running_by_worker: dict[str, list[int]]  # lease owner -> running run ids
    queued: list[QueuedRun]  # oldest first, at most QUEUED_SHOWN
    generation_by_state: dict[str, int]  # every state, zeros included


def ops_brand_ids(principal: Principal) -> list[int]:
    """Brands of the organizations where the principal holds "ops.read"; 403 when there are none."""
    if principal.is_system:
        return list(Brand.objects.values_list("id", flat=True))
    org_ids = [org for org in principal.organization_ids()
               if not principal.is_api_key and principal.can("ops.read", organization_id=org)]
    if not org_ids:
        raise Forbidden("Your role cannot do this (ops.read).", details={"capability": "ops.read"})
    return list(Brand.objects.filter(organization_id__in=org_ids).order_by("id").values_list("id", flat=True))


def _by_state(qs, choices) -> dict[str, int]:
    counts = {value: 0 for value, _ in choices}
    counts.update(dict(qs.values_list("state").annotate(n=Count("pk")).order_by().values_list("state", "n")))
    return counts


def ops_queue(*, principal: Principal) -> OpsQueue:
    brand_ids = ops_brand_ids(principal)
    now = timezone.now()
    runs = TrainingRun.objects.filter(brand_id__in=brand_ids)
    running: dict[str, list[int]] = {}
    for run_id, owner in runs.filter(state=State.RUNNING).order_by("id").values_list("id", "lease_owner"):
        running.setdefault(owner or "(none)", []).append(run_id)
    queued = [QueuedRun(id=pk, brand_id=brand_id, age_s=round((now - created).total_seconds(), 1),
                        enqueued_at=enqueued)
              for pk, brand_id, created, enqueued in runs.filter(state=State.QUEUED).order_by("created_at", "id")
              .values_list("id", "brand_id", "created_at", "enqueued_at")[:QUEUED_SHOWN]]
    return OpsQueue(
        brand_ids=brand_ids, max_concurrent_runs=max_concurrent_runs(),
        training_by_state=_by_state(runs, State.choices), running_by_worker=running, queued=queued,
        generation_by_state=_by_state(GenerationJob.objects.filter(brand_id__in=brand_ids),
                                      GenerationJob.State.choices),
    )


def training_run_requeue(*, principal: Principal, run: TrainingRun) -> TrainingRun:
    """Put a running run whose worker is stuck back in the queue, with its lease cleared.

    The stuck worker, if it ever wakes, no longer owns the lease and stops at its next heartbeat;
    the run gets one more claim than it has used so the next worker may take it.
    """
    access.brand_require(principal, run.brand, "ops.repair")
    previous_owner = run.lease_owner
    with transaction.atomic():
        if not TrainingRun.objects.filter(pk=run.pk, state=State.RUNNING).update(
                state=State.QUEUED, lease_owner="", lease_expires_at=None, enqueued_at=None,
                max_attempts=Greatest(F("max_attempts"), F("attempts") + Value(1)),
                error=f"Requeued by ops from worker {previous_owner or '(none)'}.", updated_at=timezone.now()):
            run.refresh_from_db()
            raise InvalidState(f"The run is {run.state}; only a running run can be requeued.",
                               details={"state": run.state})
        audit_record(principal=principal, organization_id=run.brand.organization_id, action="training_run.requeue",
                     target=run, brand_id=run.brand_id, data={"lease_owner": previous_owner})
        transaction.on_commit(lambda: training_run_enqueue(run_id=run.pk))
    run.refresh_from_db()
    return run
