"""The brand compliance checker: each rule kind, channels, and the compiled rules from the database."""
from __future__ import annotations

import pytest

from prefcontent.brands.compliance import (
    CompiledRules,
    RuleSpec,
    check_text,
    claimed_discounts,
    compliance_rules_for,
    rule_validate,
)
from prefcontent.brands.compliance_models import ComplianceRule


def rules(*specs: RuleSpec) -> CompiledRules:
    return CompiledRules.from_specs(specs)


def test_banned_phrase_matches_whole_words_case_and_spacing_insensitively():
    r = rules(RuleSpec(kind="banned_phrase", pattern="Risk free"))
    assert not check_text(r, "Totally  RISK\u00a0free trial").ok
    assert check_text(r, "Risk freedom is not a phrase we ban").ok
    result = check_text(r, "risk free!")
    assert result.violations[0].rule == "banned_phrase" and result.violations[0].match == "risk free"


def test_regex_rule_is_case_insensitive_and_reports_the_match():
    r = rules(RuleSpec(kind="regex", pattern=r"\bcure[sd]?\b", rule_id=7))
    result = check_text(r, "This CURES everything")
    assert not result.ok and result.violations[0].rule_id == 7 and result.violations[0].match == "CURES"
    assert check_text(r, "Secure checkout").ok


@pytest.mark.parametrize(("text", "expected"), [
    ("Get 50% off today", [50.0]),
    ("Save 40 percent on shoes", [40.0]),
    ("Up to 70% on everything", [70.0]),
    ("25% discount for members", [25.0]),
    ("Half price weekend", [50.0]),
    ("100% cotton, made to last", []),
    ("Rated 4.5 by 90% of buyers", []),
    ("40% on all rain jackets", [40.0]),  # read by the claim extractor; the old regexes missed it
    ("Take 12,5% off", [12.5]),  # a decimal comma, not 5%
])
def test_claimed_discounts_need_discount_words(text, expected):
    assert [pct for pct, _ in claimed_discounts(text)] == expected


def test_max_discount_caps_claims_but_allows_smaller_ones():
    r = rules(RuleSpec(kind="max_discount", limit=30))
    assert check_text(r, "Take 30% off").ok
    result = check_text(r, "Take 50% off, then 20% off again")
    assert not result.ok
    assert "50% discount" in result.violations[0].message and "30%" in result.violations[0].message


def test_a_discount_cap_reads_what_the_claim_extractor_reads_and_caps_only_the_figure():
    from prefcontent.brands.compliance import cap_discounts
    from prefcontent.content.claims import extract_claims

    r = rules(RuleSpec(kind="max_discount", limit=30))
    for text in ("40% on all rain jackets", "Take 60,5% off", "Save up to 45 percent"):
        extracted = [c.value for c in extract_claims(text) if c.kind == "discount"]
        assert not check_text(r, text).ok and extracted, text
        capped = cap_discounts(text, 30)
        assert check_text(r, capped).ok and [c.value for c in extract_claims(capped) if c.kind == "discount"] == [30.0]
    assert cap_discounts("Buy 2 pairs, take 50% off the third", 30) == "Buy 2 pairs, take 30% off the third"
    assert cap_discounts("Half price and 60% off", 30) == "Half price and 30% off"  # no figure to rewrite in "half"


def test_a_discount_range_is_capped_at_its_top_figure_and_every_figure_over_the_cap_is_rewritten():
    from prefcontent.brands.compliance import cap_discounts

    r = rules(RuleSpec(kind="max_discount", limit=30))
    result = check_text(r, "Save 50% to 70% off")
    assert not result.ok and "70% discount" in result.violations[0].message
    assert cap_discounts("Save 50% to 70% off", 30) == "Save 30% to 30% off"
    assert cap_discounts("Save 20% to 70% on boots", 30) == "Save 20% to 30% on boots"  # only the figure over
    assert cap_discounts("50 to 70% off", 30) == "30 to 30% off"
    assert check_text(r, cap_discounts("Save 20%–60% this weekend", 30)).ok
    assert cap_discounts("100% cotton, 40% off", 30) == "100% cotton, 30% off"  # the cotton stays 100%


def test_required_disclaimer_applies_only_to_its_channel():
    r = rules(RuleSpec(kind="required_disclaimer", pattern="T&Cs apply.", channel="email_subject"))
    assert not check_text(r, "Big sale inside", "email_subject").ok
    assert check_text(r, "Big sale inside \u2014 t&cs  apply.", "email_subject").ok
    assert check_text(r, "Big sale inside", "headline").ok


def test_max_length_and_custom_message():
    r = rules(RuleSpec(kind="max_length", limit=10, message="Too long for a push."))
    assert check_text(r, "0123456789").ok
    result = check_text(r, "0123456789x")
    assert result.violations[0].message == "Too long for a push."


def test_every_broken_rule_is_reported():
    r = rules(RuleSpec(kind="banned_phrase", pattern="guaranteed"), RuleSpec(kind="max_length", limit=5))
    result = check_text(r, "Guaranteed results")
    assert [v.rule for v in result.violations] == ["banned_phrase", "max_length"]
    assert result.to_dict()["ok"] is False


@pytest.mark.parametrize(("kind", "pattern", "limit"), [
    ("regex", "(unclosed", None), ("banned_phrase", "  ", None), ("max_discount", "", None),
    ("max_discount", "", 150), ("max_length", "", -1), ("nope", "x", None),
])
def test_invalid_rules_are_refused(kind, pattern, limit):
    with pytest.raises(ValueError):
        rule_validate(kind=kind, pattern=pattern, limit=limit)


@pytest.mark.django_db
def test_compliance_rules_for_uses_only_the_brands_active_rules(brand):
    from tests.factories import BrandFactory

    ComplianceRule.objects.create(brand=brand, kind="banned_phrase", pattern="miracle")
    ComplianceRule.objects.create(brand=brand, kind="banned_phrase", pattern="cheap", is_active=False)
    ComplianceRule.objects.create(brand=BrandFactory(), kind="banned_phrase", pattern="sale")
    compiled = compliance_rules_for(brand)
    assert len(compiled) == 1
    assert not check_text(compiled, "A miracle sale").ok
    assert check_text(compiled, "A cheap sale").ok
