"""Retrain policies: their writes (which keep the beat schedule and the brand's auto_promote in step)
and the evaluation that turns due policies into training runs.

Evaluation is serialised by locking every enabled policy row (in id order, so two evaluations
cannot deadlock): a second scheduler tick waits, then sees the first one's queued runs and skips.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from prefcontent.accounts.services import audit_record
from prefcontent.brands.models import Brand
from prefcontent.brands.settings import brand_settings_with
from prefcontent.core.errors import Conflict, DomainError
from prefcontent.core.knobs import knob
from prefcontent.preferences.selectors import pairs_usable_since
from prefcontent.preferences.snapshots import snapshot_create
from prefcontent.tenancy import access
from prefcontent.tenancy.principal import SYSTEM, Principal
from prefcontent.training.cron import cron_fields, normalise_cron
from prefcontent.training.models import RetrainPolicy, TrainingRun
from prefcontent.training.services import _hyperparameters, training_run_create

logger = logging.getLogger(__name__)
State = TrainingRun.State
ACTIVE_STATES = (State.QUEUED, State.RUNNING)
FIRE_TASK = "training.retrain_policy_fire"
EDITABLE = ("enabled", "cron", "threshold_pairs", "min_interval_minutes", "auto_promote", "hyperparameters",
            "priority")


def max_concurrent_runs() -> int:
    """TRAINING_MAX_CONCURRENT_RUNS (settings, else the environment), default 2."""
    return knob("TRAINING_MAX_CONCURRENT_RUNS", 2)


def retrain_policy_validate(values: dict) -> dict:
    """Normalise and check editable fields; hyperparameters go through the same check as a run's."""
    clean = {k: v for k, v in values.items() if k in EDITABLE}
    if "cron" in clean:
        clean["cron"] = normalise_cron(clean["cron"])
        if clean["cron"]:
            cron_fields(clean["cron"])
    if "hyperparameters" in clean:
        clean["hyperparameters"] = clean["hyperparameters"] or {}
        _hyperparameters(clean["hyperparameters"])  # raises InvalidInput; the requested values are stored
    return clean


def retrain_policy_sync(*, policy: RetrainPolicy) -> None:
    """Make the beat PeriodicTask and Brand.settings["auto_promote"] match the saved policy."""
    if policy.cron:
        crontab, _ = CrontabSchedule.objects.get_or_create(**cron_fields(policy.cron), timezone=settings.TIME_ZONE)
        task, _ = PeriodicTask.objects.update_or_create(
            name=policy.periodic_task_name,
            defaults={"task": FIRE_TASK, "crontab": crontab, "interval": None, "args": json.dumps([policy.brand_id]),
                      "enabled": policy.enabled},
        )
        if policy.periodic_task_id != task.pk:
            RetrainPolicy.objects.filter(pk=policy.pk).update(periodic_task=task)
            policy.periodic_task = task
    else:
        PeriodicTask.objects.filter(name=policy.periodic_task_name).delete()
        policy.periodic_task = None
    brand = Brand.objects.select_for_update().get(pk=policy.brand_id)
    if (brand.settings or {}).get("auto_promote") is not policy.auto_promote:
        brand.settings = brand_settings_with(brand, auto_promote=policy.auto_promote)
        brand.save(update_fields=["settings"])


def retrain_policy_delete_schedule(*, policy: RetrainPolicy) -> None:
    """Remove the policy's beat task (before the policy itself goes)."""
    PeriodicTask.objects.filter(name=policy.periodic_task_name).delete()


def retrain_policy_create(*, principal: Principal, brand: Brand, values: dict) -> RetrainPolicy:
    access.brand_require(principal, brand, "training.write")
    clean = retrain_policy_validate(values)
    with transaction.atomic():
        Brand.objects.select_for_update().get(pk=brand.pk)  # two concurrent creates: the second sees the first
        if RetrainPolicy.objects.filter(brand=brand).exists():
            raise Conflict("This brand already has a retrain policy; update it instead.", code="policy_exists")
        policy = RetrainPolicy.objects.create(brand=brand, **clean)
        retrain_policy_sync(policy=policy)
        audit_record(principal=principal, organization_id=brand.organization_id, action="retrain_policy.create",
                     target=policy, brand_id=brand.pk, data=clean)
    return policy


def retrain_policy_update(*, principal: Principal, policy: RetrainPolicy, values: dict) -> RetrainPolicy:
    access.brand_require(principal, policy.brand, "training.write")
    clean = retrain_policy_validate(values)
    with transaction.atomic():
        policy = RetrainPolicy.objects.select_for_update().get(pk=policy.pk)
        for name, value in clean.items():
            setattr(policy, name, value)
        policy.save()
        retrain_policy_sync(policy=policy)
        audit_record(principal=principal, organization_id=policy.brand.organization_id,
                     action="retrain_policy.update", target=policy, brand_id=policy.brand_id, data=clean)
    return policy


def retrain_policy_delete(*, principal: Principal, policy: RetrainPolicy) -> None:
    access.brand_require(principal, policy.brand, "training.write")
    with transaction.atomic():
        retrain_policy_delete_schedule(policy=policy)
        audit_record(principal=principal, organization_id=policy.brand.organization_id,
                     action="retrain_policy.delete", target=policy, brand_id=policy.brand_id)
        policy.delete()


def retrain_policy_fire(*, brand_id: int) -> EvaluationResult:
    """The policy's cron fired: mark it due, then evaluate (it may still wait for a slot or its interval)."""
    RetrainPolicy.objects.filter(brand_id=brand_id, enabled=True, cron_due_at__isnull=True).update(
        cron_due_at=timezone.now())
    return retrain_policies_evaluate()


@dataclass
class EvaluationResult:
    """What one evaluation did, per brand."""

    started: dict[int, int] = field(default_factory=dict)  # brand id -> run id created
    skipped: dict[int, str] = field(default_factory=dict)  # brand id -> why not


def _brand_last_run_at(brand_id: int) -> datetime | None:
    return TrainingRun.objects.filter(brand_id=brand_id).order_by("-created_at").values_list(
        "created_at", flat=True).first()


def _trigger(policy: RetrainPolicy, last_run_at: datetime | None) -> str:
    """"cron", "threshold" or "" (not due)."""
    if policy.cron_due_at is not None:
        return "cron"
    if policy.threshold_pairs and pairs_usable_since(policy.brand, last_run_at) >= policy.threshold_pairs:
        return "threshold"
    return ""


class _SameDataset(Exception):
    """Rolls back the just-made snapshot: its data is already being trained."""


def _start_run(policy: RetrainPolicy, trigger: str, now: datetime) -> TrainingRun:
    with transaction.atomic():
        snapshot = snapshot_create(principal=SYSTEM, brand=policy.brand,
                                   name=f"retrain policy ({trigger}) {now:%Y-%m-%d %H:%M}")
        if TrainingRun.objects.filter(brand_id=policy.brand_id, state__in=ACTIVE_STATES,
                                      snapshot__content_hash=snapshot.content_hash).exists():
            raise _SameDataset
        return training_run_create(principal=SYSTEM, brand=policy.brand, snapshot=snapshot,
                                   hyperparameters=policy.hyperparameters)


def retrain_policies_evaluate(*, now: datetime | None = None) -> EvaluationResult:
    """Start runs for due policies, highest priority first, within TRAINING_MAX_CONCURRENT_RUNS.

    Due: enabled, (cron fired or threshold reached), the brand has no queued/running run, and
    min_interval_minutes passed since its last run. Queued runs hold a slot too: they will
    occupy a GPU, and counting only running ones would let the queue grow without bound.
    """
    now = now or timezone.now()
    result = EvaluationResult()
    with transaction.atomic():
        policies = list(RetrainPolicy.objects.select_for_update(of=("self",)).select_related("brand")
                        .filter(enabled=True).order_by("pk"))
        policies.sort(key=lambda p: (-p.priority, p.pk))
        slots = max_concurrent_runs() - TrainingRun.objects.filter(state__in=ACTIVE_STATES).count()
        busy = set(TrainingRun.objects.filter(state__in=ACTIVE_STATES).values_list("brand_id", flat=True))
        for policy in policies:
            outcome, run = _evaluate_one(policy, now=now, slots=slots, busy=busy)
            if run is not None:
                slots -= 1
                result.started[policy.brand_id] = run.pk
                policy.last_run, policy.cron_due_at = run, None
            else:
                result.skipped[policy.brand_id] = outcome
            policy.last_evaluated_at, policy.last_outcome = now, outcome[:200]
            policy.save(update_fields=["last_run", "cron_due_at", "last_evaluated_at", "last_outcome", "updated_at"])
    if result.started:
        logger.info("retrain policies started runs %s", result.started)
    return result


def _evaluate_one(policy: RetrainPolicy, *, now: datetime, slots: int,
                  busy: set[int]) -> tuple[str, TrainingRun | None]:
    if policy.brand_id in busy:
        return "waiting: the brand already has a queued or running run", None
    last_run_at = _brand_last_run_at(policy.brand_id)
    if last_run_at is not None and now - last_run_at < timedelta(minutes=policy.min_interval_minutes):
        return "waiting: minimum interval since the last run", None
    trigger = _trigger(policy, last_run_at)
    if not trigger:
        return "not due", None
    if slots <= 0:
        return f"due ({trigger}); waiting for a free training slot", None
    try:
        run = _start_run(policy, trigger, now)
    except _SameDataset:
        return "skipped: this dataset is already queued or running", None
    except DomainError as exc:
        # e.g. no usable pairs or the daily run quota: the policy stays due and is tried next time.
        return f"due ({trigger}); could not start: {exc}", None
    return f"started run {run.pk} ({trigger})", run
