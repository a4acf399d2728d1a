"""The brand's retrain policy as the dashboard shows it: the row and when it fires next."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from prefcontent.brands.models import Brand
from prefcontent.tenancy.principal import Principal, scope_to_principal
from prefcontent.training.cron import next_cron_time
from prefcontent.training.models import RetrainPolicy


@dataclass(frozen=True)
class RetrainOutlook:
    """When the policy will next consider retraining."""

    policy: RetrainPolicy | None  # the brand's policy, if it has one
    next_cron_at: datetime | None  # the schedule's next firing (UTC), when enabled with a cron
    pairs_needed: int | None  # usable pairs still missing for the threshold trigger, when it has one


def retrain_policy_of(principal: Principal, brand: Brand) -> RetrainPolicy | None:
    # The training app has no policy selector; the core tenant scope keeps other tenants' rows out.
    return scope_to_principal(RetrainPolicy.objects.all(), principal).filter(brand=brand).first()


def retrain_outlook(*, principal: Principal, brand: Brand, pairs_since_last_run: int) -> RetrainOutlook:
    policy = retrain_policy_of(principal, brand)
    if policy is None or not policy.enabled:
        return RetrainOutlook(policy=policy, next_cron_at=None, pairs_needed=None)
    next_at = next_cron_time(policy.cron, timezone.now()) if policy.cron else None
    needed = max(0, policy.threshold_pairs - pairs_since_last_run) if policy.threshold_pairs else None
    return RetrainOutlook(policy=policy, next_cron_at=next_at, pairs_needed=needed)
