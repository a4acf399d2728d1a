"""On-demand pair building for people. The other writes live in one module per concern:
building.py (pairs_build, used by the Celery task), contradictions.py, snapshots.py (snapshot_create)
and history_import.py (history_import)."""
from __future__ import annotations

from prefcontent.accounts.services import audit_record
from prefcontent.core.errors import InvalidState
from prefcontent.experiments.models import CONCLUDED, Experiment
from prefcontent.preferences.building import BuildResult, pairs_build
from prefcontent.tenancy import access
from prefcontent.tenancy.principal import Principal


def pairs_build_on_demand(*, principal: Principal, experiment: Experiment, rebuild: bool = False) -> BuildResult:
    """Build (or with `rebuild`, rebuild) the pairs of one concluded experiment now."""
    access.brand_require(principal, experiment.brand, "experiments.write")
    decision = getattr(experiment, "decision", None)
    if experiment.status != CONCLUDED or decision is None or decision.outcome != "winner":
        raise InvalidState("Only an experiment concluded with a winner has preference pairs.",
                           code="no_winner", details={"status": experiment.status})
    result = pairs_build(experiment_ids=[experiment.pk], rebuild=rebuild)
    audit_record(principal=principal, organization_id=experiment.brand.organization_id,
                 brand_id=experiment.brand_id, action="preference_pairs.build", target=experiment,
                 data={"pairs": result.pairs, "active": result.active, "rebuild": rebuild})
    return result


def pairs_build_pending(*, within_days: int = 7, limit: int = 500) -> BuildResult:
    """Build pairs for recent winners that have none yet: the safety net when the broker was down
    at decision time and the build task was never sent."""
    from datetime import timedelta

    from django.utils import timezone

    from prefcontent.preferences.models import PreferencePair

    since = timezone.now() - timedelta(days=within_days)
    pending = (Experiment.objects.filter(status=CONCLUDED, decision__outcome="winner", decision__decided_at__gte=since)
               .exclude(pk__in=PreferencePair.objects.values("experiment_id"))
               .order_by("pk").values_list("pk", flat=True)[:limit])
    return pairs_build(experiment_ids=list(pending))
