"""The simulation's true lift: what treated and held-out readers were served, by the audience's probabilities."""
import pytest

from prefcontent.experiments.models import Assignment
from simulation.lift import round_lift, true_lift
from tests.prefcontent.content.factories import VariantFactory
from tests.prefcontent.experiments.lift_data import held_out_experiment, readers

pytestmark = pytest.mark.django_db


def test_true_lift_weights_each_arm_by_the_readers_it_served(brand):
    experiment, human, learned = held_out_experiment(brand)
    other = experiment.arms.create(variant=VariantFactory(brand=brand, text="other", source="generated",
                                                          adapter_version_id=1))
    p = {human.variant.text: 0.02, learned.variant.text: 0.03, "other": 0.04}
    Assignment.objects.bulk_create([Assignment(experiment=experiment, arm=learned, unit_hash=f"a{i}") for i in range(300)]
                                   + [Assignment(experiment=experiment, arm=other, unit_hash=f"b{i}") for i in range(100)]
                                   + [Assignment(experiment=experiment, arm=human, unit_hash=f"h{i}", holdout=True)
                                      for i in range(20)])
    # Treated: (300 x 0.03 + 100 x 0.04) / 400 = 0.0325 against 0.02 held out.
    assert true_lift([experiment.pk], p.__getitem__) == pytest.approx(0.625)
    assert true_lift([], p.__getitem__) is None


def test_round_lift_reads_the_report_beside_the_truth(brand):
    from django.utils import timezone

    experiment, human, learned = held_out_experiment(brand)
    now = timezone.now()
    readers(experiment, learned, n=1000, clickers=150, held=False, when=now, tag="t")
    readers(experiment, human, n=100, clickers=10, held=True, when=now, tag="h")
    p = {human.variant.text: 0.1, learned.variant.text: 0.15}
    figures = round_lift(brand, [experiment.pk], now, p.__getitem__)
    assert figures["measured_lift"] == pytest.approx(0.5) and figures["true_lift"] == pytest.approx(0.5)
    assert figures["measured_lift_low"] < 0.5 < figures["measured_lift_high"]
