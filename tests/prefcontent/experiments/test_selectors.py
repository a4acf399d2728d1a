import pytest

from prefcontent.experiments.models import Arm
from prefcontent.experiments.selectors import variant_outcomes_for_brand
from tests.factories import BrandFactory
from tests.prefcontent.experiments.factories import make_experiment

pytestmark = pytest.mark.django_db


def _count(experiment, *counts):
    for arm, (impressions, clicks, conversions) in zip(experiment.arms.order_by("id"), counts, strict=True):
        Arm.objects.filter(pk=arm.pk).update(impressions=impressions, clicks=clicks, conversions=conversions)


def test_outcomes_sum_the_finished_tests_of_each_variant_newest_first(brand):
    old = make_experiment(brand, status="concluded")
    _count(old, (1000, 30, 3), (1000, 10, 1))
    shared = old.arms.order_by("id").first().variant
    new = make_experiment(brand, status="stopped")
    Arm.objects.filter(experiment=new, is_control=False).update(variant=shared)  # `shared` ran in both
    _count(new, (500, 5, 0), (500, 20, 2))
    running = make_experiment(brand, status="running")  # not finished: its counts are not evidence yet
    _count(running, (900, 90, 9), (900, 9, 0))
    make_experiment(brand, status="concluded", primary_metric="conversion")
    make_experiment(BrandFactory(), status="concluded")  # another brand's

    clicks = variant_outcomes_for_brand(brand_id=brand.pk, metric="click", limit=10)
    by_variant = {o.variant_id: (o.successes, o.trials) for o in clicks}
    new_control = new.arms.get(is_control=True).variant_id
    old_other = old.arms.get(is_control=False).variant_id
    assert by_variant == {shared.pk: (50, 1500), new_control: (5, 500), old_other: (10, 1000)}
    assert [o.variant_id for o in clicks][-1] == old_other  # tested longest ago
    assert {o.text for o in clicks} >= {shared.text}

    conversions = variant_outcomes_for_brand(brand_id=brand.pk, metric="conversion", limit=10)
    assert conversions == []  # the conversion test has no impressions counted

    assert len(variant_outcomes_for_brand(brand_id=brand.pk, metric="click", limit=2)) == 2


def test_an_unknown_metric_is_refused(brand):
    with pytest.raises(ValueError):
        variant_outcomes_for_brand(brand_id=brand.pk, metric="revenue", limit=10)


def test_conversions_count_as_successes_for_the_conversion_metric(brand):
    experiment = make_experiment(brand, status="concluded", primary_metric="conversion")
    _count(experiment, (100, 10, 4), (100, 12, 6))
    outcomes = variant_outcomes_for_brand(brand_id=brand.pk, metric="conversion", limit=10)
    assert sorted((o.successes, o.trials) for o in outcomes) == [(4, 100), (6, 100)]


def test_outcomes_can_stop_at_a_moment(brand):
    from django.utils import timezone

    now = timezone.now()
    early = make_experiment(brand, status="concluded", ended_at=now - timezone.timedelta(days=2))
    _count(early, (100, 5, 0), (100, 3, 0))
    late = make_experiment(brand, status="concluded", ended_at=now)
    _count(late, (100, 9, 0), (100, 1, 0))
    cut = now - timezone.timedelta(days=1)
    outcomes = variant_outcomes_for_brand(brand_id=brand.pk, metric="click", limit=10, ended_before=cut)
    assert {o.variant_id for o in outcomes} == set(early.arms.values_list("variant_id", flat=True))
