"""The smallest edit that makes a text keep the brand's rules (pure: no database)."""
from __future__ import annotations

import pytest

from prefcontent.brands.compliance import CompiledRules, RuleSpec, check_text
from prefcontent.brands.repair import repair_text

RULES = CompiledRules.from_specs([RuleSpec(kind="max_discount", limit=30),
                                  RuleSpec(kind="banned_phrase", pattern="hurry")])


@pytest.mark.parametrize(("text", "repaired"), [
    ("Save 50% on running shoes.", "Save 30% on running shoes."),
    ("70% off all rain jackets. Today only!", "30% off all rain jackets. Today only!"),
    ("Take 45 percent off your order.", "Take 30 percent off your order."),
    ("Get 45% off backpacks! Hurry, ends Friday!", "Get 30% off backpacks!"),
    ("Meet the new running shoes. Hurry, ends midnight! 🔥", "Meet the new running shoes. 🔥"),
    ("HURRY! Save 20% today.", "Save 20% today."),
])
def test_only_the_broken_part_changes(text, repaired):
    assert repair_text(RULES, text) == repaired
    assert check_text(RULES, repaired).ok


@pytest.mark.parametrize("text", [
    "Save 20% on running shoes.",  # already compliant: nothing to repair
    "Hurry, ends Friday!",  # nothing would be left
    "Hurry, ends Friday! 🔥",  # only an emoji would be left
    "Half price on all running shoes.",  # "half" is a 50 % claim with no number to cap
])
def test_no_repair(text):
    assert repair_text(RULES, text) is None


def test_a_percentage_that_is_no_discount_claim_is_left_alone():
    assert repair_text(RULES, "100% cotton tees. Save 40% today.") == "100% cotton tees. Save 30% today."


def test_a_fractional_limit_is_written_as_it_is():
    rules = CompiledRules.from_specs([RuleSpec(kind="max_discount", limit=12.5)])
    assert repair_text(rules, "Save 20% on mats") == "Save 12.5% on mats"


def test_disclaimers_are_appended_on_their_channel_only():
    rules = CompiledRules.from_specs([RuleSpec(kind="required_disclaimer", pattern="T&Cs apply", channel="push")])
    assert repair_text(rules, "Fresh kicks", "push") == "Fresh kicks T&Cs apply"
    assert repair_text(rules, "Fresh kicks", "headline") is None


def test_regex_rules_drop_the_matching_sentence():
    rules = CompiledRules.from_specs([RuleSpec(kind="regex", pattern=r"\bguarantee[ds]?\b")])
    assert repair_text(rules, "Results guaranteed. Try our serum.") == "Try our serum."


def test_length_rules_have_no_minimal_repair():
    rules = CompiledRules.from_specs([RuleSpec(kind="max_length", limit=10)])
    assert repair_text(rules, "A text that is far too long") is None
