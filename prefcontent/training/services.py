"""Writes on training runs from the API and the reaper: create, cancel, retry, enqueue, reap.

The worker side (claim, heartbeat, train, gate, publish) lives in `runner`.
"""
from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from prefcontent.accounts.services import audit_record
from prefcontent.adapters.base_match import adapter_base_mismatch
from prefcontent.adapters.gate import gate_feasibility, gate_thresholds
from prefcontent.adapters.models import AdapterVersion
from prefcontent.adapters.services import brand_lock
from prefcontent.core.errors import InvalidInput, InvalidState, LimitExceeded
from prefcontent.core.knobs import base_model_path
from prefcontent.core.queue import enqueue
from prefcontent.tenancy import access
from prefcontent.tenancy.principal import Principal
from prefcontent.training import facade
from prefcontent.training.conf import training_settings
from prefcontent.training.hyperparameters import hyperparameters_check
from prefcontent.training.models import TrainingRun

State = TrainingRun.State
RUN_EXECUTE_TASK = "training.run_execute"


def _check_quota(brand) -> None:
    cfg = training_settings()
    since = timezone.now() - timedelta(days=1)
    recent = TrainingRun.objects.filter(brand=brand, created_at__gte=since).order_by("created_at")
    if recent.count() >= cfg.runs_per_brand_per_day:
        oldest = recent.values_list("created_at", flat=True).first()
        retry_after = max(1, int((oldest + timedelta(days=1) - timezone.now()).total_seconds()) + 1)
        raise LimitExceeded(f"This brand may start {cfg.runs_per_brand_per_day} training runs per day.",
                            retry_after=retry_after, details={"limit": cfg.runs_per_brand_per_day})


def _check_gateable(snapshot) -> None:
    """Refuse a run whose snapshot the promotion gate could never pass, with the reasons (400)."""
    splits = dict(snapshot.rows.values_list("split").annotate(n=Count("id")))
    train, holdout = splits.get("train", 0), splits.get("holdout", 0)
    reasons = gate_feasibility(train_pairs=train, holdout_pairs=holdout, t=gate_thresholds())
    if reasons:
        raise InvalidInput("This snapshot cannot pass the promotion gate: " + "; ".join(reasons) + ".",
                           code="snapshot_not_gateable",
                           details={"reasons": reasons, "train_pairs": train, "holdout_pairs": holdout})


def _hyperparameters(requested: dict) -> dict:
    """The full TrainConfig the run will use, validated now so a bad value is a 400, not a failed run."""
    problems = hyperparameters_check(requested)
    if problems:
        unknown = sorted(k for k, p in problems.items() if p == "is not a known hyperparameter")
        reasons = "; ".join(f"{k} {p}" for k, p in sorted(problems.items()))
        raise InvalidInput(f"Invalid hyperparameters: {reasons}", code="validation_error",
                           details={"fields": {"hyperparameters": problems}, "unknown": unknown})
    params = {"checkpoint_every": training_settings().checkpoint_every, **requested}
    try:
        return facade.config_dict(facade.train_config(params))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"Invalid hyperparameters: {exc}", details={"hyperparameters": str(exc)}) from exc


def training_run_create(*, principal: Principal, brand, snapshot, parent_adapter: AdapterVersion | None = None,
                        hyperparameters: dict | None = None, enqueue: bool = True) -> TrainingRun:
    """Queue a run; the row exists (queued) even if the broker is down, and the reaper enqueues it later.

    `enqueue=False` leaves the sending to the caller (`manage.py train_run` executes it in-process).
    """
    access.brand_require(principal, brand, "training.write")
    if snapshot.brand_id != brand.pk:
        raise InvalidInput("The dataset snapshot belongs to another brand.")
    _check_gateable(snapshot)
    base = base_model_path()
    if parent_adapter is not None:
        if parent_adapter.brand_id != brand.pk:
            raise InvalidInput("The parent adapter belongs to another brand.")
        if parent_adapter.status == AdapterVersion.Status.REJECTED:
            raise InvalidInput("A rejected adapter cannot be continued.")
        if (mismatch := adapter_base_mismatch(parent_adapter, base_path=base)) is not None:
            raise InvalidInput(f"The parent adapter was trained on another base model: {mismatch}",
                               details={"parent_base": parent_adapter.base_model_id, "base": base})
    params = _hyperparameters(hyperparameters or {})
    with transaction.atomic():
        brand_lock(brand.pk)  # serialises the quota check per brand
        _check_quota(brand)
        run = TrainingRun.objects.create(
            brand=brand, snapshot=snapshot, base_model_id=base, parent_adapter=parent_adapter,
            hyperparameters=params, max_attempts=training_settings().max_attempts,
            total_steps=params.get("max_steps") or 0, created_by_id=principal.user_id,
        )
        audit_record(principal=principal, organization_id=brand.organization_id, action="training_run.create",
                     target=run, brand_id=brand.pk, data={"snapshot_id": snapshot.pk})
        if enqueue:
            transaction.on_commit(lambda: training_run_enqueue(run_id=run.pk))
    return run


def training_run_enqueue(*, run_id: int) -> bool:
    """Send the run to the gpu queue; on a broker failure log it and leave the row for the reaper."""
    if not enqueue(RUN_EXECUTE_TASK, args=[run_id]):
        return False  # the row stays queued; the reaper sends it again
    TrainingRun.objects.filter(pk=run_id).update(enqueued_at=timezone.now())
    return True


def training_run_cancel(*, principal: Principal, run: TrainingRun) -> TrainingRun:
    """A queued run is cancelled at once; a running one is flagged and its worker stops between steps."""
    access.brand_require(principal, run.brand, "training.write")
    now = timezone.now()
    if TrainingRun.objects.filter(pk=run.pk, state=State.QUEUED).update(
            state=State.CANCELLED, cancel_requested=True, finished_at=now, error="Cancelled before it started."):
        pass
    elif not TrainingRun.objects.filter(pk=run.pk, state=State.RUNNING).update(cancel_requested=True):
        run.refresh_from_db()
        raise InvalidState(f"The run is {run.state}; only queued or running runs can be cancelled.",
                           details={"state": run.state})
    audit_record(principal=principal, organization_id=run.brand.organization_id, action="training_run.cancel",
                 target=run, brand_id=run.brand_id)
    run.refresh_from_db()
    return run


def training_run_retry(*, principal: Principal, run: TrainingRun) -> TrainingRun:
    """Queue a failed or cancelled run again; it resumes from its last checkpoint when there is one."""
    access.brand_require(principal, run.brand, "training.write")
    # attempts keeps counting claims (metric rows name their attempt); the budget grows instead.
    if not TrainingRun.objects.filter(pk=run.pk, state__in=[State.FAILED, State.CANCELLED]).update(
            state=State.QUEUED, max_attempts=F("attempts") + training_settings().max_attempts,
            cancel_requested=False, error="", lease_owner="",
            lease_expires_at=None, finished_at=None, enqueued_at=None):
        run.refresh_from_db()
        raise InvalidState(f"The run is {run.state}; only failed or cancelled runs can be retried.",
                           details={"state": run.state})
    audit_record(principal=principal, organization_id=run.brand.organization_id, action="training_run.retry",
                 target=run, brand_id=run.brand_id)
    transaction.on_commit(lambda: training_run_enqueue(run_id=run.pk))
    run.refresh_from_db()
    return run


def training_runs_reap(*, now=None) -> dict[str, int]:
    """Periodic: requeue runs whose lease expired (up to max_attempts), re-send queued runs nobody took."""
    cfg = training_settings()
    now = now or timezone.now()
    counts = {"requeued": 0, "failed": 0, "cancelled": 0, "enqueued": 0}
    expired = Q(state=State.RUNNING, lease_expires_at__lt=now)
    for run in TrainingRun.objects.filter(expired).only("pk", "attempts", "max_attempts", "cancel_requested"):
        mine = TrainingRun.objects.filter(expired, pk=run.pk)  # each change re-checks, so a late heartbeat wins
        cleared = {"lease_owner": "", "lease_expires_at": None, "updated_at": now}
        if run.cancel_requested:
            counts["cancelled"] += mine.update(state=State.CANCELLED, finished_at=now, **cleared,
                                               error="Cancelled; its worker stopped answering.")
        elif run.attempts >= run.max_attempts:
            counts["failed"] += mine.update(state=State.FAILED, finished_at=now, **cleared,
                                            error=f"Its worker was lost {run.attempts} times; giving up.")
        else:
            counts["requeued"] += mine.update(state=State.QUEUED, enqueued_at=None, **cleared,
                                              error=f"Attempt {run.attempts} lost its worker; requeued to resume.")
    stale = Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - timedelta(seconds=cfg.requeue_after_s))
    for run_id in TrainingRun.objects.filter(stale, state=State.QUEUED).values_list("pk", flat=True):
        counts["enqueued"] += training_run_enqueue(run_id=run_id)
    return counts
