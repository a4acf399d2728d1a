"""Pairs whose chosen text claims what its brief's facts do not support are excluded, with the claims and why."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from prefcontent.content.models import Brief
from prefcontent.preferences.building import pairs_build
from prefcontent.preferences.models import PreferencePair
from tests.prefcontent.preferences.factories import clear_win

pytestmark = pytest.mark.django_db

# 10% off until Sunday 6 December, no free shipping, nothing behind a superlative; the test ran on Friday the 4th.
FACTS = {"offer": {"discount_percent": 10, "free_shipping": False}, "validity": {"ends": "2026-12-06"},
         "allowed_claims": ["waterproof"]}
FRIDAY = datetime(2026, 12, 4, 12, tzinfo=UTC)


def _pair_for(brand, winner: str, facts=FACTS) -> PreferencePair:
    experiment = clear_win(brand, winner=winner)
    Brief.objects.filter(pk=experiment.brief_id).update(facts=facts)
    type(experiment).objects.filter(pk=experiment.pk).update(started_at=FRIDAY)
    pairs_build(experiment_ids=[experiment.pk])
    return PreferencePair.objects.get(experiment=experiment)


@pytest.mark.parametrize(("winner", "kind", "verdict"), [
    ("Save 20% on waterproof jackets", "discount", "contradicted"),  # the offer is 10%
    ("Waterproof jackets, 10% off. Ends tonight", "deadline", "contradicted"),  # it runs to Sunday
    ("Free shipping on waterproof jackets", "shipping", "contradicted"),  # none offered
    ("The best waterproof jackets around", "superlative", "unsupported"),  # no source
])
def test_a_chosen_text_with_an_unbacked_claim_is_excluded_with_the_reason(brand, winner, kind, verdict):
    pair = _pair_for(brand, winner)
    assert pair.status == "excluded" and pair.exclusion_reason == "unsupported_claim"
    [exclusion] = [e for e in pair.exclusions if e["reason"] == "unsupported_claim"]
    assert [(c["kind"], c["verdict"]) for c in exclusion["claims"]] == [(kind, verdict)]
    assert exclusion["claims"][0]["reason"]
    assert PreferencePair.objects.filter(exclusion_codes__contains="|unsupported_claim|").count() == 1


def test_a_chosen_text_the_facts_back_stays_active(brand):
    pair = _pair_for(brand, "Waterproof jackets, 10% off until Sunday")
    assert pair.status == "active", pair.exclusions


def test_without_facts_or_with_the_guard_off_claims_exclude_nothing(brand):
    assert _pair_for(brand, "Save 20% on jackets", facts={}).status == "active"
    brand.settings = {"claim_guard": "off"}
    brand.save()
    assert _pair_for(brand, "Save 30% on jackets").status == "active"
