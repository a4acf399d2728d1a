"""Reads of the experiments app, always through the acting principal."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max, QuerySet, Sum

from prefcontent.core.errors import NotFound
from prefcontent.experiments.models import CONCLUDED, STOPPED, Arm, ArmHour, Experiment, success_counter
from prefcontent.tenancy.principal import Principal, scope_to_principal


def experiment_list(*, principal: Principal) -> QuerySet[Experiment]:
    return scope_to_principal(Experiment.objects.all(), principal)


def experiment_get(*, principal: Principal, experiment_id) -> Experiment:
    """The experiment if the principal may see it, else 404; one query (brand joined)."""
    try:
        pk = int(experiment_id)
    except (TypeError, ValueError):
        raise NotFound("Experiment not found.") from None
    if principal.is_api_key:  # the hot path for CMS plugins: no subquery on visible brands
        qs = Experiment.objects.filter(pk=pk, brand_id=principal.api_key_brand_id)
    else:
        qs = experiment_list(principal=principal).filter(pk=pk)
    experiment = qs.select_related("brand").first()
    if experiment is None:
        raise NotFound("Experiment not found.")
    return experiment


@dataclass(frozen=True)
class VariantOutcome:
    """A variant's outcome summed over the finished experiments it ran in."""

    variant_id: int
    text: str
    successes: int  # clicks, or conversions for the "conversion" metric
    trials: int  # impressions


def variant_outcomes_for_brand(*, brand_id: int, metric: str, limit: int,
                               ended_before: datetime | None = None) -> list[VariantOutcome]:
    """The brand's tested variants (finished experiments on `metric` only, those that ended before
    `ended_before` if given), the most recently tested first, at most `limit`. A worker-side read for
    ranking generated copy: the caller has already been authorised for the brand."""
    successes = success_counter(metric)
    arms = Arm.objects.filter(experiment__brand_id=brand_id, experiment__status__in=(CONCLUDED, STOPPED),
                              experiment__primary_metric=metric)
    if ended_before is not None:
        arms = arms.filter(experiment__ended_at__lt=ended_before)
    rows = (arms.values("variant_id", "variant__text")
            .annotate(successes=Sum(successes), trials=Sum("impressions"), last=Max("experiment_id"))
            .filter(trials__gt=0).order_by("-last", "-variant_id")[:limit])
    return [VariantOutcome(r["variant_id"], r["variant__text"], r["successes"], r["trials"]) for r in rows]


def arm_hours(*, experiment_id: int) -> list[ArmHour]:
    """The experiment's hourly roll-ups (UTC hours of occurred_at), oldest first. The caller has already
    loaded the experiment through the principal (experiment_get)."""
    return list(ArmHour.objects.filter(arm__experiment_id=experiment_id).order_by("hour", "arm_id"))
