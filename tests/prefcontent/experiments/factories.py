from __future__ import annotations

from django.utils import timezone

from prefcontent.experiments.models import Arm, Experiment
from tests.prefcontent.content.factories import VariantFactory


def make_experiment(brand, *, arms: int = 2, status: str = "running", weights=None, **fields) -> Experiment:
    """An experiment of `brand` with `arms` arms (the first is the control) over fresh variants."""
    if status != "draft":
        fields.setdefault("started_at", timezone.now() - timezone.timedelta(hours=1))
    experiment = Experiment.objects.create(brand=brand, name=fields.pop("name", "Test"), status=status, **fields)
    weights = weights or [1 / arms] * arms
    for i in range(arms):
        Arm.objects.create(experiment=experiment, variant=VariantFactory(brand=brand), is_control=i == 0,
                           weight=weights[i])
    return experiment
