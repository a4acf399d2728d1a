"""Assignment totals from rolled counters plus the rows after the watermark equal a count of every row."""
import random
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Count, F, FloatField, Q, Sum
from django.db.models.functions import Cast
from django.utils import timezone

from prefcontent.experiments.assigned import (
    ROLL_LAG_S,
    AssignedTotals,
    assigned_rebuild,
    assigned_totals,
    assignments_roll,
)
from prefcontent.experiments.models import Arm, Assignment, AssignmentRoll
from tests.factories import BrandFactory
from tests.prefcontent.experiments.factories import make_experiment

pytestmark = pytest.mark.django_db


def _scan(experiment_ids):
    """What the decision read before the roll: every Assignment row, counted at each look."""
    tested, weighted = Q(holdout=False), Q(holdout=False, propensity__gt=0)
    out = {}
    for r in Assignment.objects.filter(experiment_id__in=experiment_ids).values("experiment_id", "arm_id").annotate(
            n=Count("id", filter=tested), w=Count("id", filter=weighted), h=Count("id", filter=Q(holdout=True)),
            v=Sum(1.0 / (Cast(F("propensity"), FloatField()) * F("propensity")), filter=weighted)):
        out.setdefault(r["experiment_id"], {})[r["arm_id"]] = AssignedTotals(r["n"], r["w"], float(r["v"] or 0), r["h"])
    return out


def _assert_same(got, want):
    assert set(got) == set(want)
    for exp_id, arms in want.items():
        assert set(got[exp_id]) == set(arms)
        for arm_id, totals in arms.items():
            mine = got[exp_id][arm_id]
            assert (mine.assigned, mine.weighted, mine.held_out) == (totals.assigned, totals.weighted, totals.held_out)
            assert mine.inverse_square == pytest.approx(totals.inverse_square, rel=1e-9)


def _assign(experiments, n, rng, *, created_at=None):
    rows = []
    for i in range(n):
        experiment = rng.choice(experiments)
        arm = rng.choice(list(experiment.arms.all()))
        held = rng.random() < 0.1
        rows.append(Assignment(experiment=experiment, arm=arm, unit_hash=f"{rng.getrandbits(64):016x}",
                               propensity=None if held or i % 7 == 0 else rng.uniform(0.05, 0.95), holdout=held,
                               created_at=created_at or timezone.now() - timedelta(minutes=5)))
    Assignment.objects.bulk_create(rows)


def test_rolled_counters_plus_the_tail_equal_a_count_of_every_row_at_every_step():
    rng = random.Random(3)
    brand = BrandFactory()
    experiments = [make_experiment(brand, arms=rng.choice([2, 3]), allocation=rng.choice(["fixed", "thompson"]))
                   for _ in range(4)]
    ids = [e.pk for e in experiments]
    _assert_same(assigned_totals(ids), _scan(ids))
    for _ in range(3):
        _assign(experiments, 40, rng)
        _assert_same(assigned_totals(ids), _scan(ids))  # the new rows from the tail
        assert assignments_roll() == 40
        _assert_same(assigned_totals(ids), _scan(ids))  # now from the counters
    assert assignments_roll() == 0
    assert AssignmentRoll.objects.get().last_id == Assignment.objects.order_by("-id").values_list("id", flat=True)[0]


def test_a_roll_leaves_the_last_seconds_to_the_tail():
    rng = random.Random(4)
    experiment = make_experiment(BrandFactory())
    _assign([experiment], 10, rng)
    _assign([experiment], 5, rng, created_at=timezone.now())  # inside the lag
    assert assignments_roll() == 10
    _assert_same(assigned_totals([experiment.pk]), _scan([experiment.pk]))
    assert assignments_roll(now=timezone.now() + timedelta(seconds=ROLL_LAG_S + 1)) == 5
    assert sum(Arm.objects.filter(experiment=experiment).values_list("assigned", flat=True)) + sum(
        Arm.objects.filter(experiment=experiment).values_list("assigned_held", flat=True)) == 15


def test_a_visitors_erasure_leaves_the_rolled_counters_as_the_event_counters_stay():
    rng = random.Random(5)
    experiment = make_experiment(BrandFactory())
    _assign([experiment], 20, rng)
    assignments_roll()
    before = assigned_totals([experiment.pk])
    Assignment.objects.filter(pk=Assignment.objects.order_by("id").values_list("id", flat=True)[0]).delete()
    assert assigned_totals([experiment.pk]) == before


def test_the_rebuild_counts_every_row_and_puts_the_watermark_at_the_top():
    rng = random.Random(6)
    brand = BrandFactory()
    experiments = [make_experiment(brand, allocation="thompson") for _ in range(3)]
    ids = [e.pk for e in experiments]
    _assign(experiments, 30, rng)
    assignments_roll()
    _assign(experiments, 30, rng, created_at=timezone.now())
    Arm.objects.update(assigned=999)  # counters gone wrong
    with transaction.atomic(), connection.cursor() as cursor:
        assigned_rebuild(cursor)
    _assert_same(assigned_totals(ids), _scan(ids))
    assert assignments_roll(now=timezone.now() + timedelta(seconds=ROLL_LAG_S + 1)) == 0
