from __future__ import annotations

import factory

from prefcontent.content.hashing import content_hash
from prefcontent.content.models import Brief, Campaign, Variant
from tests.factories import BrandFactory


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    brand = factory.SubFactory(BrandFactory)
    name = factory.Sequence(lambda n: f"Campaign {n}")
    channel = "headline"
    goal_metric = "click"


class BriefFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brief

    brand = factory.SubFactory(BrandFactory)
    title = factory.Sequence(lambda n: f"Brief {n}")
    product = "Trail running shoes"
    audience = "weekend runners"
    tone = "playful"
    locale = "en-US"


class VariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Variant

    brand = factory.SubFactory(BrandFactory)
    text = factory.Sequence(lambda n: f"Headline number {n}")
    source = "human"
    content_hash = factory.LazyAttribute(lambda v: content_hash(v.text))
