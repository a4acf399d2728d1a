import random

import pytest

from prefcontent.brands.compliance import claimed_discounts
from prefcontent.content.channels import CHANNEL_FORMS
from prefcontent.core.text import distinct_n
from simulation.audience import MAX_EFFECT, Audience, default_brands, feature_vector
from simulation.copywriter import write_copy
from simulation.metrics import ceiling_ctr, distinct_n_at, ended_rate, headroom_captured, valid_rate


def copy(rng, n):
    return [write_copy(rng, product=rng.choice(("running shoes", "cold brew")), tone="value",
                       max_chars=CHANNEL_FORMS["headline"].max_chars) for _ in range(n)]


def test_audiences_stay_realistic():
    for brand in default_brands():
        a = brand.audience
        assert 0.01 <= a.base_ctr <= 0.05
        assert all(abs(w) <= MAX_EFFECT for w in a.weights.values())
    with pytest.raises(ValueError):
        Audience("x", base_ctr=0.2, weights={})
    with pytest.raises(ValueError):
        Audience("x", base_ctr=0.02, weights={"discount": 0.9})


def test_tastes_differ_between_brands():
    northpeak, brewhaus = default_brands()
    discount = "Save 25% on running shoes."
    question = "Ready for better mornings? ✨"
    assert northpeak.audience.click_probability(discount) > northpeak.audience.click_probability(question)
    assert brewhaus.audience.click_probability(question) > brewhaus.audience.click_probability(discount)


def test_the_forbidden_claim_is_clicked_more():
    northpeak, _ = default_brands()
    allowed = northpeak.audience.click_probability("Save 30% on running shoes.")
    forbidden = northpeak.audience.click_probability("Save 60% on running shoes.")
    assert forbidden > allowed  # the trap the product must not fall into


def test_click_probability_is_deterministic_per_text():
    a = default_brands(seed=3)[0].audience
    assert a.click_probability("Shop now.") == a.click_probability("Shop now.")


def test_features_and_metrics():
    assert feature_vector("Save 30% on yoga mats. Today only!")["urgency"] == 1.0
    assert distinct_n(["a b c", "a b c"]) == 0.5
    rng = random.Random(0)
    texts = copy(rng, 50)
    assert valid_rate(texts, "headline") == 1.0
    assert valid_rate(texts[:3] + ["Shoes\nassistant\nMore"], "headline") == 0.75
    assert ended_rate(["stop", "length", "stop", "stop"]) == 0.75 and ended_rate([]) == 0.0
    assert headroom_captured(0.02, 0.03, 0.06) == pytest.approx(0.25)
    assert headroom_captured(0.02, 0.03, 0.02) is None


@pytest.mark.parametrize(("text", "on"), [
    ("Save 25% on trail sneakers", {"discount", "short", "product_named"}),
    ("Up to 40 percent off rain jackets this weekend, while supplies last. Shop now.",
     {"discount", "urgency", "product_named", "cta"}),
    ("Psst! Who needs another rainy Monday? ☔", {"question", "emoji", "opener", "short"}),
    ("Hurry: our new backpack is here", {"urgency", "opener", "short", "product_named"}),
    ("A calm, considered line of copy about nothing in particular at all", set()),
])
def test_features_are_read_off_free_text(text, on):
    products = ("running shoes", "trail sneakers", "rain jackets", "backpacks")
    x = feature_vector(text, products)
    assert {k for k, v in x.items() if v} == on
    assert all(0.0 <= v <= 1.0 for v in x.values())


def test_the_audience_reads_a_real_models_phrasing():
    """Any model's copy is scored: the same offer written differently gets the same discount feature."""
    northpeak, _ = default_brands()
    a = northpeak.audience
    for text in ("Take an extra 30% off running shoes", "Running shoes: save 30 percent", "30% off all running shoes"):
        assert feature_vector(text, a.products)["discount"] == pytest.approx(0.5)
    assert a.click_probability("Save 30% on running shoes") > a.click_probability("Running shoes")


def test_distinct_n_at_compares_corpora_at_one_size():
    rng = random.Random(1)
    texts = copy(rng, 400)
    # A bigger corpus of the same copy repeats more bigrams: plain distinct-2 falls with size.
    assert distinct_n(texts) < distinct_n(texts[:100])
    at_100 = distinct_n_at(texts, 100, seed=3)
    assert abs(at_100 - distinct_n(texts[:100])) < 0.05
    assert at_100 == distinct_n_at(texts, 100, seed=3)  # deterministic for a seed
    assert distinct_n_at(texts[:50], 100) == distinct_n(texts[:50])  # fewer texts than the size: all of them


def test_ceiling_is_at_least_any_allowed_sample():
    northpeak, _ = default_brands()
    allowed = lambda t: max((p for p, _ in claimed_discounts(t)), default=0) <= 30  # noqa: E731
    ceiling = ceiling_ctr(northpeak.audience, allowed, channel="headline", products=northpeak.products, samples=2000)
    assert ceiling >= northpeak.audience.click_probability("Save 30% on running shoes.") * 0.5
    assert 0 < ceiling < 1
