import pytest

from prefcontent.generation.selectors import recent_generated_texts
from tests.factories import BrandFactory
from tests.prefcontent.content.factories import VariantFactory

pytestmark = pytest.mark.django_db


def test_recent_generated_texts_are_the_brands_newest_generated_variants(brand):
    for i in range(4):
        VariantFactory(brand=brand, source="generated", text=f"Generated {i}")
    VariantFactory(brand=brand, source="human", text="Written by a person")
    VariantFactory(brand=BrandFactory(), source="generated", text="Another brand's")
    assert recent_generated_texts(brand_id=brand.pk, limit=3) == ["Generated 3", "Generated 2", "Generated 1"]
    assert recent_generated_texts(brand_id=brand.pk, limit=0) == []
