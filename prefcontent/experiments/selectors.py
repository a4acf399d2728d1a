"""Reads of the experiments app, always through the acting principal."""
from __future__ import annotations

from django.db.models import QuerySet

from prefcontent.core.errors import NotFound
from prefcontent.core.principal import Principal, scope_to_principal
from prefcontent.experiments.models import Experiment


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
