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


def test_recent_generated_texts_can_stop_at_a_moment(brand):
    from django.utils import timezone

    older = VariantFactory(brand=brand, source="generated", text="Older")
    VariantFactory(brand=brand, source="generated", text="Newer", created_at=timezone.now() + timezone.timedelta(hours=1))
    cut = older.created_at + timezone.timedelta(minutes=1)
    assert recent_generated_texts(brand_id=brand.pk, limit=5, created_before=cut) == ["Older"]


def test_brand_test_evidence_reads_finished_click_tests_of_allowed_copy(brand):
    from prefcontent.brands.compliance import compliance_rules_for
    from prefcontent.brands.compliance_models import ComplianceRule
    from prefcontent.experiments.models import Arm
    from prefcontent.generation.conf import generation_settings
    from prefcontent.generation.selectors import brand_test_evidence
    from tests.prefcontent.experiments.factories import make_experiment

    ComplianceRule.objects.create(brand=brand, kind="banned_phrase", pattern="hurry")
    experiment = make_experiment(brand, arms=2, status="concluded")
    for arm, text in zip(experiment.arms.order_by("id"), ["Hurry, shoes!", "Shoes for rain."], strict=True):
        arm.variant.text = text
        arm.variant.save()
        Arm.objects.filter(pk=arm.pk).update(impressions=1000, clicks=40)
    model = brand_test_evidence(brand_id=brand.pk, rules=compliance_rules_for(brand), channel="headline",
                                cfg=generation_settings())
    assert [t.text for t in model.tested] == ["Shoes for rain."] and model.mean_rate == 0.04
