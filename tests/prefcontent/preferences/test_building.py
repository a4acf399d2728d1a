"""Pairs from concluded experiments: evidence, weight, guardrail exclusions, contradictions, idempotency."""
from __future__ import annotations

import pytest

from prefcontent.brands.compliance_models import ComplianceRule
from prefcontent.experiments.models import Decision
from prefcontent.preferences.building import pairs_build
from prefcontent.preferences.models import PreferencePair
from prefcontent.preferences.prompting import prompt_version, render_prompt
from prefcontent.preferences.tasks import build_pairs_for_experiment
from tests.prefcontent.preferences.factories import clear_win, concluded_experiment

pytestmark = pytest.mark.django_db


def test_a_clear_win_becomes_one_active_pair_with_its_evidence(brand):
    experiment = clear_win(brand)
    result = pairs_build(experiment_ids=[experiment.pk])
    assert (result.experiments, result.pairs, result.active) == (1, 1, 1)
    pair = PreferencePair.objects.get()
    assert pair.chosen == "Fresh kicks for every run. Shop now" and pair.rejected == "Our running shoes are here"
    assert pair.prompt == render_prompt(brand=brand, brief=experiment.brief, channel="headline")
    assert pair.prompt_version == prompt_version()
    assert pair.evidence["chosen"]["trials"] == 5000 and pair.evidence["chosen"]["successes"] == 400
    assert pair.evidence["prob_better"] > 0.99 and pair.evidence["lift"] == pytest.approx(0.6)
    assert 0.5 < pair.weight <= 1 and pair.status == "active" and pair.exclusions == []


def test_winner_is_paired_with_every_arm_it_beats(brand):
    experiment = concluded_experiment(brand, [("Control copy here", 4000, 200), ("Winner copy wins big", 4000, 320),
                                              ("Third option text", 4000, 210)])
    pairs_build(experiment_ids=[experiment.pk])
    pairs = PreferencePair.objects.order_by("rejected")
    assert [p.rejected for p in pairs] == ["Control copy here", "Third option text"]
    assert {p.chosen for p in pairs} == {"Winner copy wins big"}
    weights = {p.rejected: p.weight for p in pairs}
    assert weights["Control copy here"] > weights["Third option text"]  # bigger lift, more weight


def test_arms_the_test_ranked_with_evidence_become_ranked_pairs(brand):
    experiment = concluded_experiment(brand, [("Control copy here", 5000, 200), ("Winner copy wins big", 5000, 420),
                                              ("Third option text", 5000, 300)])
    result = pairs_build(experiment_ids=[experiment.pk])
    ranked = PreferencePair.objects.get(evidence__ordering="ranked")
    assert (ranked.chosen, ranked.rejected) == ("Third option text", "Control copy here")
    assert ranked.status == "active" and ranked.evidence["prob_better"] >= 0.95
    assert (ranked.evidence["chosen"]["successes"], ranked.evidence["rejected"]["successes"]) == (300, 200)
    assert PreferencePair.objects.filter(evidence__ordering="winner").count() == 2
    assert (result.pairs, result.active) == (3, 3)


def test_arms_the_test_did_not_separate_make_no_ranked_pair(brand):
    # 200 vs 210 clicks: the winner beats both, but nobody can say which loser was better.
    experiment = concluded_experiment(brand, [("Control copy here", 4000, 200), ("Winner copy wins big", 4000, 320),
                                              ("Third option text", 4000, 210)])
    assert pairs_build(experiment_ids=[experiment.pk]).pairs == 2
    assert not PreferencePair.objects.filter(evidence__ordering="ranked").exists()


def test_a_brand_can_keep_winner_pairs_only(brand):
    brand.settings = {"pairs_from_ranking": False}
    brand.save()
    experiment = concluded_experiment(brand, [("Control copy here", 5000, 200), ("Winner copy wins big", 5000, 420),
                                              ("Third option text", 5000, 300)])
    assert pairs_build(experiment_ids=[experiment.pk]).pairs == 2
    assert set(PreferencePair.objects.values_list("evidence__ordering", flat=True)) == {"winner"}


def test_when_the_winner_breaks_the_rules_the_allowed_arms_still_teach(brand):
    """The confident-over-correct trap: "50% off" won, but the brand may claim 30% at most. Its pairs
    are excluded; the ordering of the two allowed texts is still evidence, and is kept."""
    ComplianceRule.objects.create(brand=brand, kind="max_discount", limit=30)
    experiment = concluded_experiment(brand, [("Our running shoes are here", 5000, 200),
                                              ("Get 50% off all running shoes today", 5000, 450),
                                              ("Save 20% on running shoes", 5000, 310)])
    result = pairs_build(experiment_ids=[experiment.pk])
    active = PreferencePair.objects.get(status="active")
    assert (active.chosen, active.rejected) == ("Save 20% on running shoes", "Our running shoes are here")
    assert result.excluded == {"compliance_violation": 2}
    assert set(PreferencePair.objects.filter(status="excluded").values_list("chosen", flat=True)) == {
        "Get 50% off all running shoes today"}


def test_confident_over_correct_trap_a_winning_text_that_breaks_compliance_is_excluded(brand):
    ComplianceRule.objects.create(brand=brand, kind="max_discount", limit=30)
    experiment = clear_win(brand, winner="Get 50% off all running shoes today")
    result = pairs_build(experiment_ids=[experiment.pk])
    pair = PreferencePair.objects.get()
    assert pair.evidence["prob_better"] > 0.99  # it won, convincingly
    assert pair.status == "excluded" and pair.exclusion_reason == "compliance_violation"
    assert "50% discount" in pair.exclusions[0]["violations"][0]["message"]
    assert result.active == 0 and result.excluded == {"compliance_violation": 1}


def test_with_repairs_on_what_stays_active_is_the_rule_not_the_trap(brand):
    brand.settings = {"pairs_from_repairs": True}
    brand.save()
    ComplianceRule.objects.create(brand=brand, kind="max_discount", limit=30)
    experiment = clear_win(brand, winner="Get 50% off all running shoes today")
    result = pairs_build(experiment_ids=[experiment.pk])
    # "30% over 50%" is active; "50% off over the control" is not.
    (active,) = PreferencePair.objects.filter(status="active")
    assert (active.evidence["ordering"], active.chosen) == ("repair", "Get 30% off all running shoes today")
    assert (result.active, result.excluded) == (1, {"compliance_violation": 1})


def test_channel_rules_use_the_experiments_channel(brand):
    ComplianceRule.objects.create(brand=brand, kind="required_disclaimer", pattern="T&Cs apply", channel="push")
    headline = clear_win(brand)
    push = clear_win(brand, channel="push", winner="Fresh kicks for every run now")
    pairs_build(experiment_ids=[headline.pk, push.pk])
    assert PreferencePair.objects.get(experiment=headline).status == "active"
    assert PreferencePair.objects.get(experiment=push).exclusion_reason == "compliance_violation"


def test_repairs_use_the_experiments_channel_too(brand):
    brand.settings = {"pairs_from_repairs": True}
    brand.save()
    ComplianceRule.objects.create(brand=brand, kind="required_disclaimer", pattern="T&Cs apply", channel="push")
    headline = clear_win(brand)
    push = clear_win(brand, channel="push", winner="Fresh kicks for every run now")
    pairs_build(experiment_ids=[headline.pk, push.pk])
    assert not PreferencePair.objects.filter(experiment=headline, evidence__ordering="repair").exists()
    repaired = PreferencePair.objects.filter(experiment=push, evidence__ordering="repair")
    assert sorted(repaired.values_list("chosen", flat=True)) == [
        "Fresh kicks for every run now T&Cs apply", "Our running shoes are here T&Cs apply"]


@pytest.fixture
def repairing(brand):
    brand.settings = {"pairs_from_repairs": True}
    brand.save()
    return brand


def test_every_rule_breaking_arm_gives_a_repair_pair_whatever_its_result(repairing):
    brand = repairing
    ComplianceRule.objects.create(brand=brand, kind="max_discount", limit=30)
    ComplianceRule.objects.create(brand=brand, kind="banned_phrase", pattern="hurry")
    experiment = concluded_experiment(brand, [("Our running shoes are here", 5000, 200),
                                              ("Fresh kicks for every run. Shop now", 5000, 450),
                                              ("Save 60% on running shoes. Hurry, ends Friday!", 5000, 150)])
    result = pairs_build(experiment_ids=[experiment.pk])
    repair = PreferencePair.objects.get(evidence__ordering="repair")
    # The loser's rule breaks are fixed with the smallest edit, and only they differ.
    assert (repair.chosen, repair.rejected) == ("Save 30% on running shoes.",
                                                "Save 60% on running shoes. Hurry, ends Friday!")
    assert repair.status == "active" and repair.weight == 1.0 and repair.exclusions == []
    assert {v["rule"] for v in repair.evidence["violations"]} == {"max_discount", "banned_phrase"}
    assert repair.prompt == render_prompt(brand=brand, brief=experiment.brief, channel="headline")
    assert repair.pair_key.startswith("repair:")
    fixed = repair.chosen_variant
    assert (fixed.source, fixed.brief_id, fixed.provenance["repair_of"]) == ("repair", experiment.brief_id,
                                                                             repair.rejected_variant_id)
    assert result.pairs == PreferencePair.objects.count()
    # Rebuilding reuses the repaired variant instead of writing another.
    pairs_build(experiment_ids=[experiment.pk], rebuild=True)
    assert PreferencePair.objects.get(evidence__ordering="repair").chosen_variant_id == fixed.pk


def test_repair_pairs_are_off_unless_the_brand_turns_them_on(brand):
    ComplianceRule.objects.create(brand=brand, kind="max_discount", limit=30)
    experiment = clear_win(brand, loser="Save 60% on running shoes")
    pairs_build(experiment_ids=[experiment.pk])
    assert not PreferencePair.objects.filter(evidence__ordering="repair").exists()


def test_a_repair_that_is_another_arm_already_paired_the_same_way_is_not_stored_twice(repairing):
    brand = repairing
    ComplianceRule.objects.create(brand=brand, kind="max_discount", limit=30)
    experiment = concluded_experiment(brand, [("Save 50% on running shoes", 5000, 200),
                                              ("Save 30% on running shoes", 5000, 400)])
    pairs_build(experiment_ids=[experiment.pk])
    (pair,) = PreferencePair.objects.all()
    assert (pair.evidence["ordering"], pair.chosen, pair.status) == ("winner", "Save 30% on running shoes", "active")


def test_repair_pairs_never_join_the_audience_pairs_contradiction_groups(repairing):
    """The audience preferred 50% off to the 30% text in one test; the rule says otherwise. The audience
    pair is excluded for breaking the rules; the repair pair stays active and contradicts nothing."""
    brand = repairing
    ComplianceRule.objects.create(brand=brand, kind="max_discount", limit=30)
    first = clear_win(brand, winner="Save 50% on running shoes", loser="Save 30% on running shoes")
    second = clear_win(brand, winner="Save 30% on running shoes", loser="Our running shoes are here")
    pairs_build(experiment_ids=[first.pk, second.pk])
    repair = PreferencePair.objects.get(evidence__ordering="repair")
    assert (repair.chosen, repair.status) == ("Save 30% on running shoes", "active")
    assert not PreferencePair.objects.filter(exclusion_reason="contradiction").exists()


def test_near_duplicates_are_excluded(brand):
    experiment = clear_win(brand, winner="Fresh kicks for every run. Shop now!",
                           loser="Fresh kicks for every run, shop now")
    pairs_build(experiment_ids=[experiment.pk])
    pair = PreferencePair.objects.get()
    assert pair.exclusion_reason == "near_duplicate" and pair.exclusions[0]["similarity"] >= 0.9


def test_a_sample_ratio_mismatch_trains_nothing_the_experiment_is_not_decided(brand):
    """Through the real services: a broken 50/50 split (6,000 vs 4,000 impressions) with a clear leader is not
    concluded by a decision, and stopping it records no winner, so no pair is built from it. (The builder's
    own SRM exclusion guards decisions no current path records: the decision engine withholds a winner.)"""
    from prefcontent.experiments.decisions import experiment_decide, experiment_stop
    from prefcontent.tenancy.principal import SYSTEM

    experiment = concluded_experiment(brand, [("Our running shoes are here", 6000, 300),
                                              ("Fresh kicks for every run. Shop now", 4000, 340)], decide=False)
    assert experiment_decide(principal=SYSTEM, experiment=experiment).decision is None
    experiment.refresh_from_db()
    assert experiment.status == "running" and experiment.last_analysis["analysis"]["srm_flag"] is True
    decision = experiment_stop(principal=SYSTEM, experiment=experiment).decision
    assert decision.outcome == "inconclusive" and decision.winner_arm_id is None
    result = pairs_build(experiment_ids=[experiment.pk])
    assert (result.pairs, result.skipped) == (0, 1) and not PreferencePair.objects.exists()


def test_too_little_evidence_for_the_brand_is_excluded_with_the_numbers(brand):
    brand.settings = {"pair_min_lift": 1.0}
    brand.save()
    pairs_build(experiment_ids=[clear_win(brand).pk])
    pair = PreferencePair.objects.get()
    assert pair.exclusion_reason == "insufficient_data" and "required" in pair.exclusions[0]["message"]


def test_inconclusive_and_unconcluded_experiments_build_nothing(brand):
    tie = concluded_experiment(brand, [("Same same", 3000, 150), ("Other text", 3000, 151)])
    running = concluded_experiment(brand, [("a text", 3000, 100), ("b text", 3000, 300)], decide=False)
    result = pairs_build(experiment_ids=[tie.pk, running.pk])
    assert result.pairs == 0 and result.skipped == 2 and not PreferencePair.objects.exists()


def test_building_twice_is_idempotent_and_rebuild_replaces(brand):
    experiment = clear_win(brand)
    assert build_pairs_for_experiment(experiment.pk)["pairs"] == 1  # the Celery task body
    assert pairs_build(experiment_ids=[experiment.pk]).pairs == 0
    first = PreferencePair.objects.get().pk
    assert pairs_build(experiment_ids=[experiment.pk], rebuild=True).pairs == 1
    assert PreferencePair.objects.get().pk != first


A, B = "Fresh kicks for every run", "Our running shoes are here"


def test_contradictions_without_deciding_evidence_exclude_both_directions(brand):
    one = clear_win(brand, winner=A, loser=B)
    two = clear_win(brand, winner=B, loser=A)
    pairs_build(experiment_ids=[one.pk])
    assert PreferencePair.objects.get().status == "active"
    pairs_build(experiment_ids=[two.pk])
    pairs = list(PreferencePair.objects.all())
    assert len(pairs) == 2
    assert all(p.exclusion_reason == "contradicting_evidence" and p.exclusions[0]["resolved"] is False
               for p in pairs)


def test_contradictions_resolved_by_pooled_evidence_keep_the_stronger_direction(brand):
    strong = concluded_experiment(brand, [(B, 50000, 1000), (A, 50000, 1600)])
    weak = concluded_experiment(brand, [(A, 6000, 200), (B, 6000, 300)])
    pairs_build(experiment_ids=[strong.pk, weak.pk])
    assert PreferencePair.objects.get(experiment=strong).status == "active"
    loser = PreferencePair.objects.get(experiment=weak)
    assert loser.exclusion_reason == "contradicting_evidence" and loser.exclusions[0]["resolved"] is True


def test_rebuilding_away_a_contradiction_reactivates_the_other_pair(brand):
    one = clear_win(brand, winner=A, loser=B)
    two = clear_win(brand, winner=B, loser=A)
    pairs_build(experiment_ids=[one.pk, two.pk])
    Decision.objects.filter(experiment=two).update(outcome="inconclusive", winner_arm=None)
    pairs_build(experiment_ids=[two.pk], rebuild=True)
    assert not PreferencePair.objects.filter(experiment=two).exists()
    assert PreferencePair.objects.get(experiment=one).status == "active"



def test_generated_copy_tested_without_a_campaign_trains_on_the_channel_it_was_generated_for(brand):
    """The simulation and the API test generated variants without a campaign: their pairs must carry the prompt
    the copy was generated from (channel included), and the gate must judge samples for that channel."""
    from prefcontent.experiments.models import Arm
    from prefcontent.preferences.channels import experiment_channel, snapshot_holdout_channels
    from prefcontent.preferences.models import DatasetSnapshot, SnapshotPair

    experiment = clear_win(brand, channel=None)
    arms = list(Arm.objects.filter(experiment=experiment).select_related("variant"))
    assert experiment_channel(experiment, arms) == ""  # nobody recorded one
    for arm in arms:
        arm.variant.provenance = {"generation_job_id": 1, "channel": "push"}
        arm.variant.save(update_fields=["provenance"])
    pairs_build(experiment_ids=[experiment.pk])
    pair = PreferencePair.objects.get()
    assert pair.prompt == render_prompt(brand=brand, brief=experiment.brief, channel="push")
    snapshot = DatasetSnapshot.objects.create(brand=brand, content_hash="x")
    for split, prompt in (("holdout", pair.prompt), ("train", "another prompt")):
        SnapshotPair.objects.create(snapshot=snapshot, pair=pair, experiment_id=experiment.pk, pair_hash="h",
                                    prompt=prompt, chosen=pair.chosen, rejected=pair.rejected, weight=1.0, split=split)
    assert snapshot_holdout_channels(snapshot) == {pair.prompt: "push"}  # held-out rows only
