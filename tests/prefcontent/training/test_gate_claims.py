"""The runner's claim flags for the gate: generations judged against their own brief's facts."""
from __future__ import annotations

import pytest

from prefcontent.content.models import Brief
from prefcontent.preferences.channels import snapshot_holdout_briefs
from prefcontent.training.models import TrainingRun
from prefcontent.training.runner import _claim_flags
from tests.prefcontent.preferences.factories import concluded_experiment
from tests.prefcontent.training.factories import make_snapshot

pytestmark = pytest.mark.django_db


def _run_with_holdout_brief(brand, facts):
    experiment = concluded_experiment(brand, [("A", 10, 1), ("B", 10, 2)], decide=False)
    Brief.objects.filter(pk=experiment.brief_id).update(facts=facts)
    snapshot = make_snapshot(brand, train=2, holdout=2)
    first = snapshot.rows.filter(split="holdout").order_by("pk").first()
    snapshot.rows.filter(pk=first.pk).update(experiment_id=experiment.pk)  # the other held-out row has no brief
    run = TrainingRun.objects.create(brand=brand, snapshot=snapshot, base_model_id="dev")
    briefs = snapshot_holdout_briefs(snapshot)
    other = snapshot.rows.filter(split="holdout").exclude(pk=first.pk).get().prompt
    return run, briefs[first.prompt], briefs[other]


def test_only_generations_for_briefs_with_facts_are_judged(brand):
    run, with_facts, without = _run_with_holdout_brief(brand, {"offer": {"discount_percent": 10}})
    assert without is None
    flags = _claim_flags(run)
    texts = ["Save 20% now", "Save 10% now", "Save 90% now", "Free shipping!"]
    assert flags(texts, [with_facts, with_facts, without, with_facts]) == [True, False, True]
    assert flags(["Save 90% now"], [without]) is None


def test_each_generation_is_judged_by_its_own_brief(brand):
    """Two briefs may render the same prompt (the prompt states no facts): the facts go by brief, not by prompt."""
    run, ten, _ = _run_with_holdout_brief(brand, {"offer": {"discount_percent": 10}})
    twenty = Brief.objects.create(brand=brand, title="same prompt, other offer", product=ten.product,
                                  facts={"offer": {"discount_percent": 20}})
    assert _claim_flags(run)(["Save 20% now", "Save 20% now"], [ten, twenty]) == [True, False]


def test_no_claim_check_without_facts_or_with_the_guard_off(brand):
    run, with_facts, without = _run_with_holdout_brief(brand, {})
    assert _claim_flags(run)(["Save 20% now", "Save 20% now"], [with_facts, without]) is None
    run, with_facts, _ = _run_with_holdout_brief(brand, {"offer": {"discount_percent": 10}})
    brand.settings = {"claim_guard": "off"}
    brand.save()
    run.brand.refresh_from_db()
    assert _claim_flags(run) is None
