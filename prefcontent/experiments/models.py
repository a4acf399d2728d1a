"""Experiments, their arms with exact counters, sticky assignments, raw events and decisions."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from prefcontent.content.models import GOAL_METRIC_CHOICES

DRAFT, RUNNING, PAUSED, CONCLUDED, STOPPED = "draft", "running", "paused", "concluded", "stopped"
STATUSES = (DRAFT, RUNNING, PAUSED, CONCLUDED, STOPPED)
ALLOCATIONS = ("fixed", "thompson")
METRICS = ("click", "conversion")
SOURCES = ("live", "imported")
EVENT_TYPES = ("impression", "click", "conversion")
OUTCOMES = ("winner", "inconclusive")
# The Arm counter each event type adds to. A metric is the event type it counts as a success.
COUNTER_FIELD = {"impression": "impressions", "click": "clicks", "conversion": "conversions"}


def success_counter(metric: str) -> str:
    """The Arm counter that holds a metric's successes: "clicks" for "click", "conversions" for "conversion"."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}")
    return COUNTER_FIELD[metric]


def _choices(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(v, v) for v in values]  # label = value: one enum per set in the API schema


STATUS_CHOICES = _choices(STATUSES)
ALLOCATION_CHOICES = _choices(ALLOCATIONS)
# The same set as content.Campaign.goal_metric, so the API schema shows one enum.
METRIC_CHOICES = GOAL_METRIC_CHOICES
EVENT_TYPE_CHOICES = _choices(EVENT_TYPES)


class Experiment(models.Model):
    brand = models.ForeignKey("brands.Brand", on_delete=models.CASCADE, related_name="experiments")
    campaign = models.ForeignKey("content.Campaign", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="experiments")
    brief = models.ForeignKey("content.Brief", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="experiments")
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=12, choices=STATUS_CHOICES, default=DRAFT, db_index=True)
    allocation = models.CharField(max_length=12, choices=ALLOCATION_CHOICES, default="fixed")
    primary_metric = models.CharField(max_length=12, choices=METRIC_CHOICES, default="click")
    min_sample_per_arm = models.PositiveIntegerField(default=1000)
    # Thompson: no arm's weight falls below this; equal split until every arm has `thompson_warmup` impressions.
    thompson_floor = models.FloatField(default=0.05)
    thompson_warmup = models.PositiveIntegerField(default=100)
    source = models.CharField(max_length=12, choices=_choices(SOURCES), default="live")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    weights_updated_at = models.DateTimeField(null=True, blank=True)
    # The latest evaluation that did not end the experiment (the decision holds the final one).
    last_analysis = models.JSONField(default=dict, blank=True)
    analyzed_at = models.DateTimeField(null=True, blank=True)
    # The arms' event counters summed when it was last analysed (None: never): they only grow, so an
    # unchanged sum means the decision pass would see the same data and skips it.
    analyzed_events = models.BigIntegerField(null=True, blank=True)
    # When retention dropped its raw events and reader rows (an ended experiment receives none after).
    events_dropped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.name


class Arm(models.Model):
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="arms")
    variant = models.ForeignKey("content.Variant", on_delete=models.RESTRICT, related_name="arms")
    is_control = models.BooleanField(default=False)
    weight = models.FloatField(default=0.0)  # share of new units; the weights of an experiment sum to 1
    # Exact counters, incremented in the transaction that inserts the events they count.
    impressions = models.BigIntegerField(default=0)
    clicks = models.BigIntegerField(default=0)
    conversions = models.BigIntegerField(default=0)
    # Reader counters of the experiment's primary metric (y: a reader's events of that metric on the arm),
    # incremented with the counters above from the Reader rows that batch created or grew, so a decision
    # reads them instead of aggregating the events. Sum of y is the metric's counter above.
    readers = models.BigIntegerField(default=0)  # units with any event on the arm
    exposed_units = models.BigIntegerField(default=0)  # units with an impression on the arm
    success_sq = models.BigIntegerField(default=0)  # sum of y squared
    # Thompson: readers whose first event found their assignment to this arm with a propensity p > 0
    # (sums of y, y^2, y/p, y^2/p^2 over them), and readers that found none (they cannot be weighted).
    weighted_successes = models.BigIntegerField(default=0)
    weighted_success_sq = models.BigIntegerField(default=0)
    ipw_successes = models.FloatField(default=0.0)
    ipw_success_sq = models.FloatField(default=0.0)
    unweighted_readers = models.BigIntegerField(default=0)
    # Readers of the brand's holdout (in the event counters above, never in the reader counters): kept by
    # ingestion with them, so a decision subtracts them without reading the Reader rows.
    held_readers = models.BigIntegerField(default=0, db_default=0)
    held_impressions = models.BigIntegerField(default=0, db_default=0)
    held_successes = models.BigIntegerField(default=0, db_default=0)  # of the experiment's primary metric
    # Stored assignments to the arm up to the roll's watermark (assigned.py): outside the holdout, those
    # with a propensity p > 0, the sum of 1/p^2 over them, and held-out ones.
    assigned = models.BigIntegerField(default=0, db_default=0)
    assigned_weighted = models.BigIntegerField(default=0, db_default=0)
    assigned_inverse_square = models.FloatField(default=0.0, db_default=0.0)
    assigned_held = models.BigIntegerField(default=0, db_default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "variant"], name="uniq_arm_variant"),
            models.UniqueConstraint(fields=["experiment"], condition=Q(is_control=True), name="one_control_arm"),
        ]

    def __str__(self) -> str:
        return f"arm {self.pk} of experiment {self.experiment_id}"


class Assignment(models.Model):
    """Which arm a unit saw. Units are stored only as a keyed hash (see prefcontent.experiments.units)."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="assignments",
                                   db_index=False)
    arm = models.ForeignKey(Arm, on_delete=models.CASCADE, related_name="assignments")
    unit_hash = models.CharField(max_length=64)
    # The chance the unit had of this arm when it was assigned (the arm's share of the weights then):
    # what inverse-propensity weighting divides by under Thompson allocation. None: assigned before it
    # was stored.
    propensity = models.FloatField(null=True, blank=True)
    # The unit is in the brand's persistent holdout (prefcontent.experiments.holdout): it was served the
    # human or base-model arm whatever the weights, and is left out of the decision and the pairs.
    holdout = models.BooleanField(default=False, db_default=False)  # db_default: raw INSERTs may omit it
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["experiment", "unit_hash"], name="uniq_assignment_unit")]


class Event(models.Model):
    """One impression, click or conversion as a client reported it; `event_id` with the event's timestamp
    is the client's idempotency key (a retry repeats the event as first sent)."""

    # Few indexes on purpose: every one slows ingestion. (brand, event_id, occurred_at) is the dedup key.
    brand = models.ForeignKey("brands.Brand", on_delete=models.CASCADE, db_index=False, related_name="+")
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="events")
    arm = models.ForeignKey(Arm, on_delete=models.CASCADE, db_index=False, related_name="events")
    event_id = models.CharField(max_length=64)
    type = models.CharField(max_length=12, choices=EVENT_TYPE_CHOICES)
    unit_hash = models.CharField(max_length=64)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()

    class Meta:
        # The key holds the timestamp because PostgreSQL partitions the table by it (partitions.py).
        constraints = [models.UniqueConstraint(fields=["brand", "event_id", "occurred_at"], name="uniq_event_key")]


class Reader(models.Model):
    """One unit's events on one arm: the first-exposure row the reader counters are kept from.

    Ingestion inserts it (or adds to it) in the transaction of the events it counts, so the arm's
    reader counters change by exactly the readers and per-reader sums that batch moved."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, db_index=False, related_name="+")
    arm = models.ForeignKey(Arm, on_delete=models.CASCADE, db_index=False, related_name="+")
    unit_hash = models.CharField(max_length=64)
    events = models.BigIntegerField(default=0)
    impressions = models.BigIntegerField(default=0)
    successes = models.BigIntegerField(default=0)  # events of the experiment's primary metric
    # Thompson: the propensity of the unit's assignment to this arm when its first event arrived
    # (None: no such assignment, or fixed allocation).
    propensity = models.FloatField(null=True, blank=True)
    # The unit is in the brand's holdout (its assignment says so): counted apart, never in the arm's reader counters.
    holdout = models.BooleanField(default=False, db_default=False)
    first_seen_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["experiment", "arm", "unit_hash"], name="uniq_reader_arm")]


class ArmHour(models.Model):
    """Events per arm per hour (UTC, of occurred_at), kept by ingestion: what the dashboard's charts read."""

    arm = models.ForeignKey(Arm, on_delete=models.CASCADE, db_index=False, related_name="+")
    hour = models.DateTimeField()
    impressions = models.BigIntegerField(default=0)
    clicks = models.BigIntegerField(default=0)
    conversions = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["arm", "hour"], name="uniq_arm_hour")]
        indexes = [models.Index(fields=["hour"], name="armhour_hour")]  # retention: which tests had events a day


class LiftCluster(models.Model):
    """An experiment's readers for the lift report, kept when retention drops its events (lift_frozen.py).

    Per metric, week ("YYYY-MM-DD", its Monday, UTC; "all" for the whole experiment) and side (held out
    or treated): readers, and the sum and sum of squares of their count of the metric's events."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, db_index=False, related_name="+")
    metric = models.CharField(max_length=16)
    week = models.CharField(max_length=10)
    holdout = models.BooleanField()
    readers = models.BigIntegerField()
    total = models.FloatField()
    total_sq = models.FloatField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["experiment", "metric", "week", "holdout"],
                                               name="uniq_lift_cluster")]


class AssignmentRoll(models.Model):
    """The one row that says up to which assignment id the arms' `assigned*` counters hold (assigned.py)."""

    last_id = models.BigIntegerField(default=0)
    rolled_at = models.DateTimeField(null=True, blank=True)


class Decision(models.Model):
    """How an experiment ended, with the evidence later turned into preference pairs."""

    experiment = models.OneToOneField(Experiment, on_delete=models.CASCADE, related_name="decision")
    outcome = models.CharField(max_length=14, choices=_choices(OUTCOMES))
    winner_arm = models.ForeignKey(Arm, null=True, blank=True, on_delete=models.RESTRICT, related_name="+")
    reason = models.TextField(blank=True)
    evidence = models.JSONField(default=dict)
    decided_by = models.CharField(max_length=80, blank=True)  # "user:<id>", "api_key:<prefix>" or "system"
    decided_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.outcome} for experiment {self.experiment_id}"
