import random

import pytest

from ml.devmodel import grammar


@pytest.mark.parametrize("channel", grammar.CHANNELS)
def test_every_generated_text_parses(channel):
    rng = random.Random(1)
    for _ in range(300):
        text = grammar.generate_text(rng, channel, product=rng.choice(grammar.PRODUCTS), tone=rng.choice(grammar.TONES))
        assert grammar.parse(text) is not None, text


def test_parse_takes_a_text_apart():
    result = grammar.parse("Psst! Save 20% on yoga mats. Only 48 hours left! 🔥")
    assert result.opener == "Psst!" and result.emoji == ("🔥",)
    assert result.kinds() == ["discount", "urgency"]
    assert result.clauses[0].slots == {"pct": "20", "product": "yoga mats"}


@pytest.mark.parametrize("text", ["Save 20% on yoga mat.", "save 20% on yoga mats.", "Buy now!!", "",
                                  "Shop now. Shop now. Shop now. Shop now.", "Save 20% on yoga mats"])
def test_parse_rejects_what_the_grammar_cannot_make(text):
    assert grammar.parse(text) is None


def test_features_of_grammatical_and_free_text():
    f = grammar.features("Lumen: Need new yoga mats? Today only! Shop now. ✨")
    assert f == {**f, "discount_pct": None, "urgency": True, "question": True, "emoji": 1, "product_named": "yoga mats",
                 "opener": True, "cta": True, "grammatical": True}
    g = grammar.features("Our sunglasses are 15 % cheaper than ever")
    assert g["discount_pct"] == 15 and g["product_named"] == "sunglasses" and not g["grammatical"]
    assert g["length_chars"] == 41 and g["length_words"] == 8 and not g["urgency"] and not g["question"]


def test_brief_steers_the_copy():
    rng = random.Random(2)
    texts = [grammar.generate_text(rng, "headline", product="cold brew", tone="value") for _ in range(200)]
    named = [grammar.features(t)["product_named"] for t in texts]
    assert sum(n == "cold brew" for n in named) > 150 and set(named) <= {"cold brew", None}
    assert sum(grammar.features(t)["discount_pct"] is not None for t in texts) > 120
    sms = grammar.generate_text(rng, "sms", brand="Orbit")
    assert sms.startswith("Orbit: ")


def test_brief_format():
    brief = grammar.render_brief(brand="Lumen", voice="calm", channel="push", product="sunscreen",
                                 audience="students", tone="curious")
    assert brief == ("Brand: Lumen\nVoice: calm\nChannel: push\nProduct: sunscreen\nAudience: students\n"
                     "Tone: curious\nWrite:")
