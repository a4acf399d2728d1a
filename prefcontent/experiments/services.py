"""Writes of the experiments app: create, edit, weights and the state machine.

    draft --start--> running --pause--> paused --resume--> running
    running | paused --stop--> stopped (or concluded, see decisions.experiment_stop)
    running | paused --decide (winner)--> concluded

Every transition locks the row, so two concurrent calls cannot both move it.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from prefcontent.accounts.services import audit_record
from prefcontent.brands.models import Brand
from prefcontent.brands.settings import brand_settings
from prefcontent.content.models import Brief, Campaign, Variant
from prefcontent.core.errors import InvalidInput, InvalidState, NotFound
from prefcontent.experiments.allocation import normalise
from prefcontent.experiments.assignment import assignment_cache_drop
from prefcontent.experiments.holdout import needs_holdout_arm, variant_kind
from prefcontent.experiments.models import (
    ALLOCATIONS,
    DRAFT,
    METRICS,
    PAUSED,
    RUNNING,
    Arm,
    Experiment,
)
from prefcontent.tenancy import access
from prefcontent.tenancy.principal import Principal

MAX_ARMS = 20
DRAFT_ONLY_FIELDS = ("allocation", "primary_metric", "min_sample_per_arm", "thompson_floor", "thompson_warmup")

# action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "start": ((DRAFT,), RUNNING),
    "pause": ((RUNNING,), PAUSED),
    "resume": ((PAUSED,), RUNNING),
}


@dataclass(frozen=True)
class ArmSpec:
    variant: Variant  # the copy this arm shows
    is_control: bool = False  # exactly one arm of an experiment is the control
    weight: float | None = None  # fixed allocation share; None on every arm means equal split


def _audit(principal: Principal, experiment: Experiment, action: str, data: dict | None = None) -> None:
    audit_record(principal=principal, organization_id=experiment.brand.organization_id,
                 brand_id=experiment.brand_id, action=action, target=experiment, data=data)


def _check_config(allocation: str, primary_metric: str, min_sample_per_arm: int, thompson_floor: float,
                  arm_count: int) -> None:
    if allocation not in ALLOCATIONS:
        raise InvalidInput(f"allocation must be one of {', '.join(ALLOCATIONS)}.", code="invalid_allocation")
    if primary_metric not in METRICS:
        raise InvalidInput(f"primary_metric must be one of {', '.join(METRICS)}.", code="invalid_metric")
    if min_sample_per_arm < 1:
        raise InvalidInput("min_sample_per_arm must be at least 1.", code="invalid_min_sample")
    if not 0 <= thompson_floor <= 1 / arm_count:
        raise InvalidInput(f"thompson_floor must be between 0 and 1/{arm_count}.", code="invalid_floor")


def _arm_weights(arms: list[ArmSpec], allocation: str) -> list[float]:
    given = [a.weight for a in arms]
    if allocation == "thompson" or all(w is None for w in given):
        return [1 / len(arms)] * len(arms)
    if any(w is None for w in given):
        raise InvalidInput("Give a weight for every arm or for none.", code="invalid_weights")
    try:
        return normalise(given)
    except ValueError as exc:
        raise InvalidInput(str(exc), code="invalid_weights") from None


@transaction.atomic
def experiment_create(
    *, principal: Principal, brand: Brand, name: str, arms: list[ArmSpec], campaign: Campaign | None = None,
    brief: Brief | None = None, allocation: str = "fixed", primary_metric: str | None = None,
    min_sample_per_arm: int = 1000, thompson_floor: float = 0.05, thompson_warmup: int = 100,
    source: str = "live",
) -> Experiment:
    access.brand_require(principal, brand, "experiments.write")
    for obj in (campaign, brief, *(a.variant for a in arms)):
        if obj is not None and obj.brand_id != brand.pk:
            raise NotFound(f"{type(obj).__name__} not found.")
    if not 2 <= len(arms) <= MAX_ARMS:
        raise InvalidInput(f"An experiment needs 2 to {MAX_ARMS} arms.", code="invalid_arms")
    if sum(a.is_control for a in arms) != 1:
        raise InvalidInput("Exactly one arm must be the control.", code="invalid_control")
    if len({a.variant.pk for a in arms}) != len(arms):
        raise InvalidInput("Each arm needs its own variant.", code="duplicate_variant")
    # The holdout never sees adapter copy, so an experiment of adapter copy needs copy the brand would have run.
    kinds = [variant_kind(source=a.variant.source, adapter_version_id=a.variant.adapter_version_id) for a in arms]
    share = brand_settings(brand).holdout_share
    if share > 0 and needs_holdout_arm(kinds):
        raise InvalidInput(f"This brand holds {share:.0%} of readers out of learned copy: add a human-written or "
                           "base-model arm for them, or set holdout_share to 0.", code="no_holdout_arm")
    primary_metric = primary_metric or (campaign.goal_metric if campaign else "click")
    _check_config(allocation, primary_metric, min_sample_per_arm, thompson_floor, len(arms))
    weights = _arm_weights(arms, allocation)
    experiment = Experiment.objects.create(
        brand=brand, name=name, campaign=campaign, brief=brief, allocation=allocation,
        primary_metric=primary_metric, min_sample_per_arm=min_sample_per_arm, thompson_floor=thompson_floor,
        thompson_warmup=thompson_warmup, source=source, created_by_id=principal.user_id,
    )
    Arm.objects.bulk_create([Arm(experiment=experiment, variant=a.variant, is_control=a.is_control, weight=w)
                             for a, w in zip(arms, weights, strict=True)])
    _audit(principal, experiment, "experiment.create", {"arms": len(arms), "allocation": allocation})
    return experiment


@transaction.atomic
def experiment_update(*, principal: Principal, experiment: Experiment, **changes) -> Experiment:
    """The name may change any time; the statistical set-up only while in draft."""
    access.brand_require(principal, experiment.brand, "experiments.write")
    experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
    locked = sorted(k for k in changes if k in DRAFT_ONLY_FIELDS)
    if locked and experiment.status != DRAFT:
        raise InvalidState(f"Only a draft experiment may change {', '.join(locked)}.",
                           details={"status": experiment.status, "fields": locked})
    for key in ("name", *DRAFT_ONLY_FIELDS):
        if key in changes:
            setattr(experiment, key, changes[key])
    _check_config(experiment.allocation, experiment.primary_metric, experiment.min_sample_per_arm,
                  experiment.thompson_floor, experiment.arms.count())
    experiment.save()
    return experiment


@transaction.atomic
def experiment_delete(*, principal: Principal, experiment: Experiment) -> None:
    access.brand_require(principal, experiment.brand, "experiments.write")
    experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
    if experiment.status != DRAFT:
        raise InvalidState("Only a draft experiment can be deleted; stop it instead.",
                           details={"status": experiment.status})
    _audit(principal, experiment, "experiment.delete", {"name": experiment.name})
    assignment_cache_drop(experiment.pk)
    experiment.delete()


@transaction.atomic
def experiment_transition(*, principal: Principal, experiment: Experiment, action: str) -> Experiment:
    """start, pause or resume. (stop and conclude go through the decision rules.)"""
    access.brand_require(principal, experiment.brand, "experiments.write")
    sources, target = TRANSITIONS[action]
    experiment = Experiment.objects.select_for_update().select_related("brand").get(pk=experiment.pk)
    if experiment.status not in sources:
        raise InvalidState(f"Cannot {action} an experiment that is {experiment.status}.",
                           details={"status": experiment.status, "action": action})
    if action == "start":
        experiment.started_at = timezone.now()
    experiment.status = target
    experiment.save(update_fields=["status", "started_at"])
    assignment_cache_drop(experiment.pk)
    _audit(principal, experiment, f"experiment.{action}")
    return experiment


@transaction.atomic
def experiment_set_weights(*, principal: Principal, experiment: Experiment, weights: dict[int, float]) -> Experiment:
    """New fixed weights for new units; units already assigned keep their arm."""
    access.brand_require(principal, experiment.brand, "experiments.write")
    experiment = Experiment.objects.select_for_update().select_related("brand").get(pk=experiment.pk)
    if experiment.allocation != "fixed":
        raise InvalidState("Thompson experiments compute their weights.", code="weights_computed")
    if experiment.status not in (DRAFT, RUNNING, PAUSED):
        raise InvalidState(f"The experiment is {experiment.status}.", details={"status": experiment.status})
    arms = list(experiment.arms.all())
    if set(weights) != {a.pk for a in arms}:
        raise InvalidInput("Give a weight for every arm of the experiment, by arm id.", code="invalid_weights",
                           details={"arms": sorted(a.pk for a in arms)})
    try:
        normalised = normalise([weights[a.pk] for a in arms])
    except ValueError as exc:
        raise InvalidInput(str(exc), code="invalid_weights") from None
    for arm, weight in zip(arms, normalised, strict=True):
        arm.weight = weight
    Arm.objects.bulk_update(arms, ["weight"])
    assignment_cache_drop(experiment.pk)
    experiment.weights_updated_at = timezone.now()
    experiment.save(update_fields=["weights_updated_at"])
    _audit(principal, experiment, "experiment.weights", {str(a.pk): a.weight for a in arms})
    return experiment
