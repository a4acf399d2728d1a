"""The dev model's language must be well-formed copy under the product's free-text check."""
from __future__ import annotations

import random

from ml.devmodel import grammar
from prefcontent.content.wellformed import well_formed_flags


def test_the_dev_grammar_is_well_formed_copy():
    """The dev model's language is a small part of free text: its copy must pass the free-text check."""
    rng = random.Random(0)
    channel = {"headline": "headline", "email_subject": "email_subject", "push": "push", "ad": "ad_copy",
               "sms": "ad_copy"}
    for dev_channel, product_channel in channel.items():
        texts = [grammar.generate_text(rng, dev_channel) for _ in range(500)]
        assert all(well_formed_flags(texts, product_channel)), dev_channel
