"""The promotion gate's checks, each with its value and threshold, on hand-made inputs."""
from __future__ import annotations

import dataclasses

import pytest

from prefcontent.adapters.gate import GateInputs, GateThresholds, GenerationSet, evaluate_gate
from prefcontent.content.wellformed import well_formed_flags

BASE = [f"headline number {i} about shoes and {w}" for i, w in enumerate("abcdefghijklmnop")]
ADAPTED = [f"{w} fresh shoes {i} for {w}{w} runners" for i, w in enumerate("abcdefghijklmnop")]
HOLDOUT = {"pairs": 40, "reward_accuracy": 0.8, "chosen_logps_mean": -39.0, "rewards_chosen": 0.1}


def inputs(**changes) -> GateInputs:
    """GateInputs from the defaults below; a change to a GenerationSet field goes to the held-out set."""
    values = {"holdout": HOLDOUT, "beta": 0.1, "base_texts": BASE, "adapter_texts": ADAPTED,
              "adapter_violations": [False] * 16, "baseline_violations": [False] * 15 + [True]}
    values.update(changes)
    # Well-formedness read off the texts by the product's check, unless a case gives its own flags.
    values.setdefault("base_well_formed", well_formed_flags(values["base_texts"], "headline"))
    values.setdefault("adapter_well_formed", well_formed_flags(values["adapter_texts"], "headline"))
    names = {f.name for f in dataclasses.fields(GenerationSet)}
    held_out = GenerationSet(**{k: v for k, v in values.items() if k in names})
    return GateInputs(held_out=held_out, **{k: v for k, v in values.items() if k not in names})


def check(report, name):
    return next(c for c in report.checks if c.name == name)


def test_a_good_candidate_passes_every_check_and_reports_values_and_thresholds():
    report = evaluate_gate(inputs(), GateThresholds())
    assert report.passed, report.reasons
    names = [c.name for c in report.checks]
    assert names == ["reward_accuracy", "reward_accuracy_significance", "compliance_violation_rate",
                     "well_formed_rate", "well_formed_floor", "distinct_2", "non_duplicate_rate", "length_ratio", "chosen_logp_drop", "changed_fraction"]
    data = report.to_dict()
    assert data["passed"] and data["reasons"] == []
    sig = check(report, "reward_accuracy_significance")
    assert sig.value == pytest.approx(9.108e-5, rel=0.01) and sig.threshold == 0.05


@pytest.mark.parametrize(("changes", "failing"), [
    ({"holdout": {**HOLDOUT, "reward_accuracy": 0.5}}, {"reward_accuracy", "reward_accuracy_significance"}),
    # 5 of 5 correct: accurate, but 1/32 is not below alpha=0.01
    ({"holdout": {**HOLDOUT, "pairs": 5, "reward_accuracy": 1.0}}, {"reward_accuracy_significance"}),
    ({"adapter_violations": [True] * 6 + [False] * 10}, {"compliance_violation_rate"}),
    ({"adapter_texts": ["buy now shoes today"] * 16}, {"distinct_2", "non_duplicate_rate"}),
    ({"adapter_texts": [f"{w} fresh " + " ".join(f"{w}{j}" for j in range(16)) for w in "abcdefghijklmnop"]}, {"length_ratio"}),
    ({"holdout": {**HOLDOUT, "rewards_chosen": -2.0}}, {"chosen_logp_drop"}),
    ({"adapter_texts": BASE}, {"changed_fraction"}),
])
def test_each_failure_names_its_check(changes, failing):
    report = evaluate_gate(inputs(**changes), GateThresholds(significance_alpha=0.01))
    assert not report.passed
    assert {c.name for c in report.checks if not c.passed} == failing
    assert all(any(r.startswith(name) for r in report.reasons) for name in failing)


RUN_ON = "Save 20% on trail shoes today\nassistant\nSure! Here are more headlines: Save 20% on trail shoes today"


def test_an_adapter_whose_output_is_mostly_malformed_is_rejected_against_a_well_formed_base():
    """Issue 22: an adapter with 85% invalid output was promoted. Every other check passes here."""
    base = [f"Fresh trail shoes {i} for weekend hikers." for i in range(64)]
    good = [f"Weekend hikers {i}: new trail shoes, {i}0 colours." for i in range(10)]
    bad = ([f"Trail {i}a shoes {i}b\nassistant\nSure, {i}c more {i}d" for i in range(27)]  # the chat goes on
           + [f"Sale {i}e {i}f {i}f {i}f today {i}g" for i in range(27)])  # a word stuck on repeat
    adapter = good + bad  # 54 of 64 malformed: 84%
    report = evaluate_gate(inputs(base_texts=base, adapter_texts=adapter, adapter_violations=[False] * 64),
                           GateThresholds())
    rate = check(report, "well_formed_rate")
    assert rate.value == pytest.approx(10 / 64) and rate.threshold == 1.0
    assert not rate.passed and "10/64 vs 64/64" in rate.detail and "significantly below" in rate.detail
    assert not report.passed
    assert [c.name for c in report.checks if not c.passed] == ["well_formed_rate", "well_formed_floor"]


def test_a_malformed_sample_or_two_is_sampling_noise():
    base = [f"Fresh trail shoes {i} for weekend hikers." for i in range(64)]
    adapter = [f"Weekend hikers {i}: new trail shoes." for i in range(62)] + [RUN_ON, "Go go go now"]
    report = evaluate_gate(inputs(base_texts=base, adapter_texts=adapter, adapter_violations=[False] * 64),
                           GateThresholds())
    rate = check(report, "well_formed_rate")
    assert rate.passed and "62/64 vs 64/64" in rate.detail and "within sampling noise" in rate.detail
    strict = evaluate_gate(inputs(base_texts=base, adapter_texts=adapter, adapter_violations=[False] * 64),
                           GateThresholds(well_formed_alpha=0.5))
    assert not check(strict, "well_formed_rate").passed


def test_next_to_a_base_that_rambles_as_much_only_the_absolute_floor_fails():
    """The relative check is about what training changed; the floor keeps non-copy from being promoted at all
    (measured: SmolLM2 given no chat template wrote 0 well-formed headlines in 16, base and adapter alike)."""
    base, adapted = [f"b {i} x" for i in range(64)], [f"a {i} y" for i in range(64)]
    flags = [True] * 20 + [False] * 44
    report = evaluate_gate(inputs(base_texts=base, adapter_texts=adapted, adapter_violations=[False] * 64,
                                  base_well_formed=flags, adapter_well_formed=flags[::-1]), GateThresholds())
    assert check(report, "well_formed_rate").passed
    floor = check(report, "well_formed_floor")
    assert not floor.passed and "20/64 vs a floor of 0.5" in floor.detail and "significantly below" in floor.detail
    near = [True] * 28 + [False] * 36  # 28/64 = 0.44: within noise of 0.5
    report = evaluate_gate(inputs(base_texts=base, adapter_texts=adapted, adapter_violations=[False] * 64,
                                  base_well_formed=near, adapter_well_formed=near), GateThresholds())
    assert check(report, "well_formed_floor").passed and report.passed


def test_compliance_is_measured_against_the_baseline_not_zero():
    worse_baseline = inputs(adapter_violations=[True] * 2 + [False] * 14,
                            baseline_violations=[True] * 3 + [False] * 13, baseline_label="active adapter v2")
    report = evaluate_gate(worse_baseline, GateThresholds())
    assert check(report, "compliance_violation_rate").passed
    assert "active adapter v2" in check(report, "compliance_violation_rate").detail


def test_against_an_active_adapter_the_base_stays_the_compliance_floor():
    """No ratchet: each promotion may look fine next to the previous adapter while the rate creeps up."""
    creeping = inputs(adapter_violations=[True] * 7 + [False] * 25, baseline_violations=[True] * 5 + [False] * 27,
                      baseline_label="active adapter v3", base_violations=[False] * 32)
    report = evaluate_gate(creeping, GateThresholds())
    assert check(report, "compliance_violation_rate").passed  # 7/32 vs 5/32 is noise
    floor = check(report, "compliance_vs_base")
    assert not floor.passed and "0/32" in floor.detail and "Fisher" in floor.detail
    assert not report.passed and report.reasons[0].startswith("compliance_vs_base")
    without_active = evaluate_gate(inputs(), GateThresholds())
    assert "compliance_vs_base" not in [c.name for c in without_active.checks]


def test_without_holdout_or_generations_nothing_is_measurable_so_it_fails():
    report = evaluate_gate(inputs(holdout={}, base_texts=[], adapter_texts=[], adapter_violations=[],
                                  baseline_violations=[]), GateThresholds())
    assert not report.passed
    assert all(not c.passed for c in report.checks if c.name != "compliance_violation_rate")
    assert "not measurable" in check(report, "reward_accuracy").detail


def test_thresholds_come_from_settings(settings):
    from prefcontent.adapters.gate import gate_thresholds

    settings.ADAPTER_GATE = {"min_reward_accuracy": 0.9}
    assert gate_thresholds() == dataclasses.replace(GateThresholds(), min_reward_accuracy=0.9)
    report = evaluate_gate(inputs(), gate_thresholds())
    assert [c.name for c in report.checks if not c.passed] == ["reward_accuracy"]


def test_a_diverged_run_is_not_measurable_rather_than_passing():
    nan = float("nan")
    report = evaluate_gate(inputs(holdout={**HOLDOUT, "reward_accuracy": nan, "rewards_chosen": nan}),
                           GateThresholds())
    failing = {c.name for c in report.checks if not c.passed}
    assert failing == {"reward_accuracy", "reward_accuracy_significance", "chosen_logp_drop"}


def test_one_extra_violation_is_sampling_noise_but_a_clear_excess_fails():
    noise = evaluate_gate(inputs(adapter_violations=[True] * 2 + [False] * 14), GateThresholds())  # 2/16 vs 1/16
    assert check(noise, "compliance_violation_rate").passed
    assert "within sampling noise" in check(noise, "compliance_violation_rate").detail
    clear = evaluate_gate(inputs(adapter_violations=[True] * 6 + [False] * 10), GateThresholds())
    assert not check(clear, "compliance_violation_rate").passed
    assert "significantly above" in check(clear, "compliance_violation_rate").detail


def test_a_non_duplicate_share_just_under_the_floor_is_noise_far_under_it_fails():
    """64 generations: a floor of 0.8 missed by three texts is sampling noise; missed by a third, a real loss."""
    base = [f"base {i} text {i * 3} about {i * 7}" for i in range(64)]
    distinct = [f"fresh {i} shoes {i * 5} for {i * 11} runners" for i in range(64)]
    twins = lambda k: [f"same pair {j // 2} words here now" for j in range(k)]  # noqa: E731 - k texts in pairs
    near = evaluate_gate(inputs(base_texts=base, adapter_texts=distinct[:46] + twins(18),
                                adapter_violations=[False] * 64), GateThresholds())
    share = check(near, "non_duplicate_rate")
    assert share.value == pytest.approx(46 / 64) and share.threshold == 0.8
    assert share.passed and "46/64" in share.detail and "within sampling noise" in share.detail
    far = evaluate_gate(inputs(base_texts=base, adapter_texts=distinct[:36] + twins(28),
                               adapter_violations=[False] * 64), GateThresholds())
    share = check(far, "non_duplicate_rate")
    assert not share.passed and "36/64" in share.detail and "significantly below" in share.detail
    strict = evaluate_gate(inputs(base_texts=base, adapter_texts=distinct[:46] + twins(18),
                                  adapter_violations=[False] * 64), GateThresholds(diversity_alpha=0.5))
    assert not check(strict, "non_duplicate_rate").passed


def test_feasibility_names_what_the_gate_could_never_measure():
    from prefcontent.adapters.gate import GateThresholds, gate_feasibility

    t = GateThresholds()
    assert gate_feasibility(train_pairs=10, holdout_pairs=5, t=t) == []  # 0.5**5 = 0.031 < 0.05
    assert "needs at least 5" in gate_feasibility(train_pairs=10, holdout_pairs=4, t=t)[0]
    assert len(gate_feasibility(train_pairs=0, holdout_pairs=0, t=t)) == 2
    assert gate_feasibility(train_pairs=10, holdout_pairs=1, t=GateThresholds(significance_alpha=0.6)) == []


def test_a_holdout_of_100000_pairs_is_judged_not_crashed():
    """With a 10% holdout a brand past ~10,500 pairs could never promote: the binomial tail overflowed."""
    big = {**HOLDOUT, "pairs": 100_000, "reward_accuracy": 0.51}
    report = evaluate_gate(inputs(holdout=big), GateThresholds())
    significance = check(report, "reward_accuracy_significance")
    assert significance.passed and significance.value < 1e-9  # 51,000/100,000 is far from chance
    chance = evaluate_gate(inputs(holdout={**big, "reward_accuracy": 0.5}), GateThresholds())
    assert not check(chance, "reward_accuracy_significance").passed


def _unsupported(texts):
    """The gate's claim flags as the runner computes them: a claim the brief's facts do not back, per text."""
    from datetime import date

    from prefcontent.content.claims import check_claims, claim_problems, facts_parse

    facts = facts_parse({"offer": {"discount_percent": 10, "free_shipping": False},
                         "validity": {"ends": "2026-12-06"}, "allowed_claims": ["waterproof"]})
    return [bool(claim_problems(check_claims(t, facts, today=date(2026, 12, 4)))) for t in texts]


TRAPS = ["Save 20% on rain jackets", "Rain jackets 10% off, ends tonight", "Free shipping on rain jackets",
         "The best rain jackets in town"]
HONEST = [f"Waterproof rain jackets, 10% off until Sunday, style {i}" for i in range(16)]


def test_the_gate_counts_each_trap_and_refuses_a_rise_beyond_noise():
    flags = _unsupported(TRAPS)
    assert flags == [True] * 4  # a contradicted discount, a deadline, free shipping, an unsourced superlative
    adapter = TRAPS * 2 + HONEST[:8]  # 8 of 16
    report = evaluate_gate(inputs(adapter_unsupported_claims=_unsupported(adapter),
                                  baseline_unsupported_claims=_unsupported(HONEST)), GateThresholds())
    rate = check(report, "unsupported_claim_rate")
    assert rate.value == 0.5 and not rate.passed and "8/16 vs 0/16" in rate.detail and "Fisher" in rate.detail
    assert not report.passed and any(r.startswith("unsupported_claim_rate") for r in report.reasons)
    assert report.summary["unsupported_claim_rate"] == {"adapter": 0.5, "baseline": 0.0, "judged_generations": 16}


def test_an_unsupported_claim_rate_within_noise_passes_and_the_base_stays_the_floor():
    one_more = evaluate_gate(inputs(adapter_unsupported_claims=_unsupported(TRAPS[:2] + HONEST[:14]),
                                    baseline_unsupported_claims=_unsupported(TRAPS[:1] + HONEST[:15])),
                             GateThresholds())
    assert check(one_more, "unsupported_claim_rate").passed  # 2/16 vs 1/16
    creeping = evaluate_gate(inputs(adapter_unsupported_claims=[True] * 7 + [False] * 25,
                                    baseline_unsupported_claims=[True] * 5 + [False] * 27,
                                    base_unsupported_claims=[False] * 32, baseline_label="active adapter v3"),
                             GateThresholds())
    assert check(creeping, "unsupported_claim_rate").passed
    assert not check(creeping, "unsupported_claims_vs_base").passed and not creeping.passed


def test_without_briefs_with_facts_the_gate_runs_no_claim_check():
    names = [c.name for c in evaluate_gate(inputs(), GateThresholds()).checks]
    assert "unsupported_claim_rate" not in names and "unsupported_claims_vs_base" not in names


def test_recent_briefs_are_checked_apart_and_a_collapse_there_fails_the_gate():
    """Held-out generations look fine; on the briefs the brand serves the candidate repeats itself."""
    collapsed = ["buy now shoes today"] * 16
    recent = GenerationSet(base_texts=BASE, adapter_texts=collapsed, adapter_violations=[False] * 16,
                           baseline_violations=[False] * 16, base_well_formed=[True] * 16,
                           adapter_well_formed=[True] * 16)
    report = evaluate_gate(inputs(recent=recent), GateThresholds())
    assert not report.passed
    assert {c.name for c in report.checks if not c.passed} == {"distinct_2_recent", "non_duplicate_rate_recent"}
    assert check(report, "distinct_2").passed and check(report, "distinct_2_recent").detail.startswith("recent briefs")
    assert report.summary["recent"]["generations"] == 16
    healthy = dataclasses.replace(recent, adapter_texts=ADAPTED)
    assert evaluate_gate(inputs(recent=healthy), GateThresholds()).passed
