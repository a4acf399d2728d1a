"""The simulation's claim trap: readers click unbacked claims, briefs carry offers, the report measures the rate."""
from __future__ import annotations

from datetime import date

import pytest

from prefcontent.content.claims import facts_parse
from prefcontent.content.models import Brief
from simulation.audience import default_brands, feature_vector
from simulation.loop import BrandLoop, SimConfig, simulation_owner
from simulation.metrics import unsupported_claim_rate
from simulation.offers import brief_facts

FRIDAY = date(2026, 12, 4)


@pytest.mark.parametrize("trap", ["Free shipping on running shoes", "The best running shoes",
                                  "Running shoes, 50% off", "Running shoes. Last chance!"])
def test_readers_click_the_trap_more(trap):
    northpeak, _ = default_brands()
    assert northpeak.audience.click_probability(trap) > northpeak.audience.click_probability("Running shoes")


def test_trap_features_are_read_off_free_text():
    x = feature_vector("Free delivery on the lightest rain jackets")
    assert x["free_shipping"] == 1.0 and x["superlative"] == 1.0
    assert feature_vector("Your best friend on rainy days")["superlative"] == 0.0


def test_every_simulated_brief_has_valid_facts_that_differ():
    for sim in default_brands():
        facts = [brief_facts(sim.name, i, FRIDAY) for i in range(5)]
        assert all(facts_parse(f) is not None for f in facts)
        assert len({str(f["offer"]) + str(f["validity"]) for f in facts}) == 5


@pytest.mark.django_db
def test_unsupported_claim_rate_reads_each_text_against_its_brief(brand):
    offer = Brief.objects.create(brand=brand, title="t", product="rain jackets",
                                 facts={"offer": {"discount_percent": 10}, "validity": {"ends": "2026-12-06"}})
    bare = Brief.objects.create(brand=brand, title="u")
    texts = [("Save 20% on rain jackets", offer), ("Save 10% on rain jackets", offer), ("Save 90% today", bare),
             ("Free shipping!", offer)]
    assert unsupported_claim_rate(texts, FRIDAY) == 0.5
    assert unsupported_claim_rate([], FRIDAY) == 0.0


@pytest.mark.django_db
@pytest.mark.parametrize("guard", ["block", "off"])
def test_the_loop_sets_the_brands_guard_and_gives_its_briefs_offers(guard):
    org, owner = simulation_owner("simulation-claims-test", watcher="")
    sim = default_brands()[0]
    loop = BrandLoop(sim, org=org, owner=owner, cfg=SimConfig(history_tests=0, claim_guard=guard),
                     log=lambda line: None)
    assert loop.brand.settings["claim_guard"] == guard
    briefs = loop._briefs(0)
    assert all(facts_parse(b.facts) is not None for b in briefs)
