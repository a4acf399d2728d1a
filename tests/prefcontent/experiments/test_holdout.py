"""The persistent holdout: who is held out, what they see, and that the decision and pairs leave them out."""
from __future__ import annotations

import pytest
from django.utils import timezone
from scipy import stats as sps

from prefcontent.core.errors import InvalidInput
from prefcontent.experiments.assignment import assignment_for_unit
from prefcontent.experiments.decisions import experiment_decide, experiment_evaluate
from prefcontent.experiments.holdout import (
    ADAPTER,
    BASE,
    HUMAN,
    ArmKind,
    holdout_arm,
    holdout_point,
    is_held_out,
    variant_kind,
)
from prefcontent.experiments.ingestion import events_ingest
from prefcontent.experiments.models import Assignment
from prefcontent.experiments.services import ArmSpec, experiment_create, experiment_transition
from prefcontent.experiments.units import unit_hash
from prefcontent.preferences.building import pairs_build
from prefcontent.preferences.models import PreferencePair
from prefcontent.tenancy.principal import principal_for_user
from tests.prefcontent.content.factories import VariantFactory

READERS = 4000


def _variant(brand, kind: str, text: str | None = None):
    fields = {"human": {"source": "human"}, "base": {"source": "generated"},
              "adapter": {"source": "generated", "adapter_version_id": 7}}[kind]
    return VariantFactory(brand=brand, **fields, **({"text": text} if text else {}))


def _running(principal, brand, kinds: list[str], **fields):
    arms = [ArmSpec(variant=_variant(brand, k), is_control=i == 0) for i, k in enumerate(kinds)]
    experiment = experiment_create(principal=principal, brand=brand, name="holdout", arms=arms, **fields)
    return experiment_transition(principal=principal, experiment=experiment, action="start")


@pytest.fixture
def principal(owner):
    return principal_for_user(owner)


def test_variant_kinds_follow_provenance():
    assert variant_kind(source="generated", adapter_version_id=3) == ADAPTER
    assert variant_kind(source="generated", adapter_version_id=None) == BASE
    assert variant_kind(source="human", adapter_version_id=None) == HUMAN
    assert variant_kind(source="imported", adapter_version_id=None) == HUMAN


def test_holdout_arm_prefers_human_then_base_and_none_without_learned_copy():
    assert holdout_arm([ArmKind(1, True, ADAPTER), ArmKind(2, False, BASE), ArmKind(3, False, HUMAN)]) == 3
    assert holdout_arm([ArmKind(1, True, BASE), ArmKind(2, False, HUMAN)]) == 2
    assert holdout_arm([ArmKind(1, True, HUMAN), ArmKind(2, False, HUMAN)]) is None
    assert holdout_arm([ArmKind(1, False, ADAPTER), ArmKind(2, True, ADAPTER), ArmKind(3, False, BASE)]) == 3


def test_holdout_readers_never_see_adapter_copy_and_their_share_holds(principal, brand):
    """Control = base-model copy, one human arm, two adapter arms: held-out readers get the human arm."""
    experiment = _running(principal, brand, ["base", "adapter", "human", "adapter"])
    arms = {a.pk: a for a in experiment.arms.select_related("variant")}
    human = next(a.pk for a in arms.values() if a.variant.source == "human")
    seen_by_held, treated, held_units = set(), [], set()
    for i in range(READERS):
        result = assignment_for_unit(principal=principal, experiment_id=experiment.pk, unit_id=f"reader-{i}")
        if result.holdout:
            seen_by_held.add(result.arm_id)
            held_units.add(f"reader-{i}")
        else:
            treated.append(result.arm_id)
    assert seen_by_held == {human}
    assert all(arms[a].variant.adapter_version_id is None for a in seen_by_held)
    held = Assignment.objects.filter(experiment=experiment, holdout=True).count()
    assert held == len(held_units) and Assignment.objects.filter(experiment=experiment).count() == READERS
    # Sample-ratio check on the holdout: 5 % within sampling noise (binomial, p > 0.001).
    assert sps.binomtest(held, READERS, 0.05).pvalue > 0.001, held
    # Treated readers split evenly over the four arms (the holdout is independent of the arm bucket).
    counts = [treated.count(a) for a in sorted(arms)]
    assert sps.chisquare(counts).pvalue > 0.001, counts
    # Held out in every experiment of the brand: the same readers in a second one, and never adapter copy.
    again = _running(principal, brand, ["adapter", "human"])
    human_again = again.arms.get(variant__source="human").pk
    for i in range(600):
        result = assignment_for_unit(principal=principal, experiment_id=again.pk, unit_id=f"reader-{i}")
        assert result.holdout == (f"reader-{i}" in held_units)
        assert not result.holdout or result.arm_id == human_again


def test_share_zero_holds_nobody_out_and_concluded_experiments_still_hold_out(principal, brand):
    experiment = _running(principal, brand, ["human", "adapter"])
    held_unit = next(f"r{i}" for i in range(1000) if assignment_for_unit(
        principal=principal, experiment_id=experiment.pk, unit_id=f"r{i}").holdout)
    control = experiment.arms.get(is_control=True)
    experiment.status = "concluded"
    experiment.save()
    from prefcontent.experiments.models import Decision

    Decision.objects.create(experiment=experiment, outcome="winner",
                            winner_arm=experiment.arms.get(is_control=False), evidence={})
    assert assignment_for_unit(principal=principal, experiment_id=experiment.pk, unit_id=held_unit).arm_id == control.pk
    brand.settings = {"holdout_share": 0}
    brand.save()
    other = _running(principal, brand, ["human", "adapter"])
    assert not any(assignment_for_unit(principal=principal, experiment_id=other.pk, unit_id=f"r{i}").holdout
                   for i in range(300))


def test_the_answer_reports_the_stored_holdout_flag_when_the_share_changes(principal, brand):
    """A reader assigned before the share changed keeps its row; the answer says what the row says,
    which is what the decision and the lift report count."""
    brand.settings = {"holdout_share": 0}
    brand.save()
    experiment = _running(principal, brand, ["adapter", "human"])
    human = experiment.arms.get(variant__source="human").pk
    treated = [f"u{i}" for i in range(200)]
    on_human = [u for u in treated if assignment_for_unit(
        principal=principal, experiment_id=experiment.pk, unit_id=u).arm_id == human]
    brand.settings = {"holdout_share": 0.5}
    brand.save()
    now_held = [u for u in on_human if is_held_out(brand.pk, unit_hash(brand.pk, u), 0.5)]
    assert now_held
    for unit in on_human:  # stored on the human arm as randomised readers, whatever the share says now
        result = assignment_for_unit(principal=principal, experiment_id=experiment.pk, unit_id=unit)
        assert (result.arm_id, result.holdout) == (human, False)
    held_unit = next(f"new{i}" for i in range(100) if assignment_for_unit(
        principal=principal, experiment_id=experiment.pk, unit_id=f"new{i}").holdout)
    brand.settings = {"holdout_share": 0}
    brand.save()
    again = assignment_for_unit(principal=principal, experiment_id=experiment.pk, unit_id=held_unit)
    assert (again.arm_id, again.holdout) == (human, True)


def test_adapter_only_experiment_is_refused_while_the_brand_holds_readers_out(principal, brand):
    with pytest.raises(InvalidInput) as caught:
        _running(principal, brand, ["adapter", "adapter"])
    assert caught.value.code == "no_holdout_arm"
    brand.settings = {"holdout_share": 0}
    brand.save()
    assert _running(principal, brand, ["adapter", "adapter"]).status == "running"


def test_holdout_point_is_keyed_and_stable(settings):
    settings.UNIT_HASH_KEY = "one"
    a = holdout_point(1, "abc")
    assert holdout_point(1, "abc") == a and holdout_point(2, "abc") != a
    settings.UNIT_HASH_KEY = "two"
    assert holdout_point(1, "abc") != a


def _traffic(principal, experiment, readers: int, clicks_every: dict[int, int]) -> dict[str, int]:
    """Each reader: 4 impressions, and a click when their index is a multiple of their arm's `clicks_every`."""
    now = timezone.now().isoformat()
    events, held = [], {"impressions": 0, "clicks": 0, "readers": 0}
    for i in range(readers):
        result = assignment_for_unit(principal=principal, experiment_id=experiment.pk, unit_id=f"u{i}")
        clicked = i % clicks_every[result.arm_id] == 0
        for v in range(4):
            events.append({"event_id": f"i{i}-{v}", "experiment": experiment.pk, "arm": result.arm_id,
                           "type": "impression", "unit_id": f"u{i}", "timestamp": now})
        if clicked:
            events.append({"event_id": f"c{i}", "experiment": experiment.pk, "arm": result.arm_id, "type": "click",
                           "unit_id": f"u{i}", "timestamp": now})
        if result.holdout:
            held["readers"] += 1
            held["impressions"] += 4
            held["clicks"] += clicked
    for start in range(0, len(events), 1000):
        out = events_ingest(principal=principal, events=events[start:start + 1000])
        assert out.accepted == len(events[start:start + 1000])
    return held


def test_decision_and_pairs_leave_held_out_readers_out(principal, brand, django_capture_on_commit_callbacks):
    experiment = _running(principal, brand, ["human", "adapter"], min_sample_per_arm=100)
    control, treatment = experiment.arms.order_by("id")
    held = _traffic(principal, experiment, 3000, {control.pk: 20, treatment.pk: 3})
    assert held["readers"] > 0
    evidence = experiment_evaluate(experiment=experiment).evidence
    analysed = {int(a["arm_id"]): a for a in evidence["analysis"]["arms"]}
    control.refresh_from_db()
    treatment.refresh_from_db()
    # The decision's arms lack exactly the held-out readers' events (all on the control).
    assert analysed[control.pk]["trials"] == control.impressions - held["impressions"]
    assert analysed[control.pk]["successes"] == control.clicks - held["clicks"]
    assert analysed[treatment.pk]["trials"] == treatment.impressions
    assert evidence["counts"][str(control.pk)]["assignments"] == (
        Assignment.objects.filter(arm=control, holdout=False).count())
    assert evidence["holdout"]["readers"] == held["readers"] and evidence["holdout"]["clicks"] == held["clicks"]
    assert evidence["holdout"]["srm_flag"] is False
    # Readers in the sequential test: the control's readers that are not held out.
    tested = {int(a["arm_id"]): a["readers"] for a in evidence["analysis"]["sequential"]["arms"]}
    assert tested[control.pk] == Assignment.objects.filter(arm=control, holdout=False).count()
    assert tested[treatment.pk] == Assignment.objects.filter(arm=treatment).count()
    with django_capture_on_commit_callbacks(execute=False):
        result = experiment_decide(principal=principal, experiment=experiment)
    assert result.decision is not None and result.decision.winner_arm_id == treatment.pk
    pairs_build(experiment_ids=[experiment.pk])
    pair = PreferencePair.objects.get(experiment=experiment)
    assert pair.evidence["rejected"]["trials"] == control.impressions - held["impressions"]
    assert pair.evidence["chosen"]["trials"] == treatment.impressions
