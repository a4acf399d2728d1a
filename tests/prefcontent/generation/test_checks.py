from prefcontent.brands.compliance import CompiledRules, RuleSpec
from prefcontent.brands.settings import BLOCK, FLAG
from prefcontent.generation.checks import check_outputs, compliance_mode

NO_HYPE = CompiledRules.from_specs([RuleSpec(kind="banned_phrase", pattern="guaranteed")])


def _check(texts, mode=BLOCK, rules=NO_HYPE, threshold=0.9):
    return check_outputs(list(enumerate(texts)), rules=rules, channel="headline", mode=mode,
                         dedup_threshold=threshold)


def test_block_mode_drops_violations_and_records_them():
    out = _check(["Fresh socks for cold feet", "Guaranteed warm feet"])
    assert [o.status for o in out] == ["kept", "blocked"]
    assert out[1].violations[0]["rule"] == "banned_phrase"
    assert not out[1].usable and out[0].usable


def test_flag_mode_keeps_violations_marked():
    out = _check(["Guaranteed warm feet"], mode=FLAG)
    assert out[0].status == "flagged" and out[0].usable
    assert out[0].violations[0]["match"] == "guaranteed"


def test_near_duplicates_within_a_response_are_removed():
    out = _check(["Fresh socks for cold feet!", "Fresh socks for cold feet.", "Walk on clouds this winter"])
    assert [o.status for o in out] == ["kept", "duplicate", "kept"]
    assert out[1].duplicate_of == 0 and out[1].similarity >= 0.9


def test_a_blocked_text_does_not_make_its_compliant_twin_a_duplicate():
    out = _check(["Guaranteed: fresh socks for cold feet", "Fresh socks for cold feet"], threshold=0.5)
    assert [o.status for o in out] == ["blocked", "kept"]


def test_malformed_outputs_are_never_served_and_say_why():
    run_on = "Fresh socks for cold feet\nassistant\nHere are five more headlines"
    out = _check([run_on, "x" * 130, "Fresh socks for cold feet"], mode=FLAG)
    assert [o.status for o in out] == ["malformed", "malformed", "kept"]
    assert not out[0].usable and {v["rule"] for v in out[0].violations} == {"well_formed"}
    assert any("lines where headline takes one" in v["message"] for v in out[0].violations)
    assert "over the 100" in out[1].violations[0]["message"]


def test_an_echo_of_the_prompt_is_malformed():
    prompt = "Write one headline for Northpeak, direct and without hype, about trail sneakers for weekend hikers."
    echo = "Northpeak, direct and without hype, about trail sneakers for weekend hikers"
    out = check_outputs([(0, echo), (1, "Trail sneakers for weekend hikers")], rules=NO_HYPE, channel="headline",
                        mode=BLOCK, dedup_threshold=0.9, prompt=prompt)
    assert [o.status for o in out] == ["malformed", "kept"]
    assert out[0].violations[0]["message"] == "an echo of the prompt"


def test_empty_outputs_are_dropped():
    assert [o.status for o in _check(["", "  ", "Hello"])] == ["empty", "empty", "kept"]


def test_compliance_mode_defaults_to_block(brand):
    assert compliance_mode(brand) == BLOCK
    brand.settings = {"compliance_mode": "flag"}
    assert compliance_mode(brand) == FLAG
    brand.settings = {"compliance_mode": "nonsense"}
    assert compliance_mode(brand) == BLOCK


def test_outputs_are_cleaned_of_control_bytes_before_checking():
    out = _check(["Warm\x00 feet\x07 now\n", "\x00\x01"])
    assert out[0].text == "Warm feet now" and out[0].status == "kept"
    assert out[1].status == "empty"


# Claims: 10% off until Sunday 6 December, no free shipping, no source for a superlative; copy judged on Friday.
CLAIM_FACTS = {"offer": {"discount_percent": 10, "free_shipping": False}, "validity": {"ends": "2026-12-06"},
               "allowed_claims": ["waterproof"]}
TRAPS = ["Save 20% on rain jackets", "Rain jackets 10% off, ends tonight", "Free shipping on rain jackets",
         "The best rain jackets in town"]
TRAP_KINDS = [("discount", "contradicted"), ("deadline", "contradicted"), ("shipping", "contradicted"),
              ("superlative", "unsupported")]


def _guard(mode):
    from datetime import date

    from prefcontent.content.claims import facts_parse
    from prefcontent.generation.checks import ClaimGuard

    return ClaimGuard(facts=facts_parse(CLAIM_FACTS), mode=mode, today=date(2026, 12, 4))


def _claimed(texts, mode):
    return check_outputs(list(enumerate(texts)), rules=CompiledRules(), channel="headline", mode=BLOCK,
                         dedup_threshold=0.9, claims=_guard(mode))


def test_claim_guard_blocks_each_trap_with_its_reason():
    out = _claimed([*TRAPS, "Rain jackets, 10% off until Sunday"], BLOCK)
    assert [o.status for o in out] == ["blocked"] * 4 + ["kept"]
    for o, (kind, verdict) in zip(out, TRAP_KINDS, strict=False):
        [v] = o.violations
        assert (v["rule"], v["kind"], v["verdict"]) == ("claim", kind, verdict) and v["reason"] and v["match"]


def test_claim_guard_in_flag_mode_keeps_the_traps_marked():
    out = _claimed(TRAPS, FLAG)
    assert [o.status for o in out] == ["flagged"] * 4
    assert [(o.violations[0]["kind"], o.violations[0]["verdict"]) for o in out] == TRAP_KINDS


def test_claim_guard_for_reads_the_brand_setting_and_the_brief(brand):
    from prefcontent.generation.checks import claim_guard_for
    from tests.prefcontent.content.factories import BriefFactory

    brief = BriefFactory(brand=brand, facts=CLAIM_FACTS)
    assert claim_guard_for(brand, brief).mode == BLOCK  # the default
    assert claim_guard_for(brand, BriefFactory(brand=brand)) is None  # no facts: the brand's rules only
    assert claim_guard_for(brand, None) is None
    brand.settings = {"claim_guard": "flag"}
    assert claim_guard_for(brand, brief).mode == FLAG
    brand.settings = {"claim_guard": "off"}
    assert claim_guard_for(brand, brief) is None


def test_the_brands_allowed_claims_back_copy_in_every_brief_with_facts(brand):
    from prefcontent.brands.settings import brand_settings_with
    from prefcontent.generation.checks import claim_guard_for
    from tests.prefcontent.content.factories import BriefFactory

    brief = BriefFactory(brand=brand, facts=CLAIM_FACTS)
    line = "Rain jackets rated 4.8 by 2,000 customers"
    assert {(p["kind"], p["verdict"]) for p in claim_guard_for(brand, brief).problems(line)} == {
        ("rating", "unsupported"), ("quantity", "unsupported")}
    brand.settings = brand_settings_with(brand, allowed_claims=["Rated 4.8 by 2,000 customers"])
    assert claim_guard_for(brand, brief).problems(line) == []
    assert claim_guard_for(brand, brief).problems("Save 20% on rain jackets")  # the offer still rules
    assert claim_guard_for(brand, BriefFactory(brand=brand)) is None  # a brief without facts stays unjudged
