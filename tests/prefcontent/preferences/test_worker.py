"""End to end with a real Celery worker: a live decision enqueues the pair build by task name."""
from __future__ import annotations

import time

import pytest

from prefcontent.experiments.decisions import experiment_decide
from prefcontent.preferences.models import PreferencePair
from prefcontent.tenancy.principal import SYSTEM
from tests.prefcontent.preferences.factories import concluded_experiment


@pytest.mark.slow
@pytest.mark.smoke
def test_concluding_an_experiment_builds_its_pairs_in_the_worker(celery_worker, brand):
    experiment = concluded_experiment(brand, [("Our running shoes are here", 5000, 250),
                                              ("Fresh kicks for every run", 5000, 400)], decide=False)
    result = experiment_decide(principal=SYSTEM, experiment=experiment)
    assert result.decision is not None and result.decision.outcome == "winner"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not PreferencePair.objects.filter(experiment=experiment).exists():
        time.sleep(0.2)
    pair = PreferencePair.objects.filter(experiment=experiment).first()
    assert pair is not None, celery_worker.log()
    assert pair.chosen == "Fresh kicks for every run" and pair.status == "active"
