"""Preference pairs with their evidence, frozen dataset snapshots, and imports of past tests."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

ACTIVE, EXCLUDED = "active", "excluded"
PAIR_STATUSES = (ACTIVE, EXCLUDED)
# Exclusion reasons, in the priority that picks a pair's primary `exclusion_reason`.
COMPLIANCE, NEAR_DUPLICATE, SRM, INSUFFICIENT_DATA, CONTRADICTION = (
    "compliance_violation", "near_duplicate", "sample_ratio_mismatch", "insufficient_data", "contradicting_evidence",
)
UNSUPPORTED_CLAIM = "unsupported_claim"  # the chosen text claims what its brief's facts contradict or do not support
EXCLUSION_REASONS = (COMPLIANCE, UNSUPPORTED_CLAIM, NEAR_DUPLICATE, SRM, INSUFFICIENT_DATA, CONTRADICTION)
TRAIN, HOLDOUT = "train", "holdout"
REPAIR = "repair"  # evidence["ordering"] of a rule-repair pair (see building.py)
# Their pair_key: a namespace of its own keeps them out of the audience pairs' contradiction groups.
REPAIR_KEY_PREFIX = "repair:"
SPLITS = (TRAIN, HOLDOUT)


class PreferencePair(models.Model):
    """For `prompt`, `chosen` beat `rejected` in `experiment`; kept even when excluded, with the reasons why."""

    # No single-column indexes on brand and experiment: the composite indexes below start with them.
    brand = models.ForeignKey("brands.Brand", on_delete=models.CASCADE, related_name="preference_pairs",
                              db_index=False)
    experiment = models.ForeignKey("experiments.Experiment", on_delete=models.CASCADE,
                                   related_name="preference_pairs", db_index=False)
    chosen_variant = models.ForeignKey("content.Variant", on_delete=models.RESTRICT, related_name="+")
    rejected_variant = models.ForeignKey("content.Variant", on_delete=models.RESTRICT, related_name="+")
    prompt = models.TextField()
    prompt_version = models.CharField(max_length=32)
    chosen = models.TextField()
    rejected = models.TextField()
    weight = models.FloatField()
    # Counts of both arms, prob_better, lift, p_value, the decision's reason and thresholds used.
    evidence = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=[(s, s) for s in PAIR_STATUSES], default=ACTIVE)
    exclusion_reason = models.CharField(max_length=32, blank=True)  # the first of `exclusions`, by priority
    # [{"reason": code, "message": str, ...details}] for every reason that applies.
    exclusions = models.JSONField(default=list, blank=True)
    # "|code|code|": lets `?reason=` match any reason on both PostgreSQL and SQLite.
    exclusion_codes = models.CharField(max_length=200, blank=True)
    pair_hash = models.CharField(max_length=64)  # sha256 of prompt, chosen and rejected; decides the split
    pair_key = models.CharField(max_length=129)  # the two texts' content hashes, sorted: finds contradictions
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "chosen_variant", "rejected_variant"], name="uniq_pair"),
        ]
        indexes = [
            models.Index(fields=["brand", "status"], name="pair_brand_status"),
            models.Index(fields=["brand", "pair_key"], name="pair_brand_key"),
            models.Index(fields=["brand", "created_at"], name="pair_brand_created"),
        ]

    def __str__(self) -> str:
        return f"pair {self.pk} ({self.status})"


class DatasetSnapshot(models.Model):
    """A brand's active pairs frozen at one moment. Immutable: training runs reference it, never a live query."""

    brand = models.ForeignKey("brands.Brand", on_delete=models.CASCADE, related_name="dataset_snapshots")
    name = models.CharField(max_length=200, blank=True)
    content_hash = models.CharField(max_length=64, db_index=True)  # sha256 over the frozen rows and split rule
    prompt_versions = models.JSONField(default=list)  # prompt versions of the frozen pairs
    split_rule = models.JSONField(default=dict)  # {"method": "pair_hash", "holdout_fraction": f}
    counts = models.JSONField(default=dict)  # pairs, train, holdout, excluded by reason at freeze time
    bias_report = models.JSONField(default=dict)  # see prefcontent.preferences.bias
    source_experiment_ids = models.JSONField(default=list)  # experiments the pairs came from
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"snapshot {self.pk} of brand {self.brand_id}"


class SnapshotPair(models.Model):
    """One frozen row of a snapshot: a copy of the pair's texts, so later edits cannot change it."""

    snapshot = models.ForeignKey(DatasetSnapshot, on_delete=models.CASCADE, related_name="rows")
    pair = models.ForeignKey(PreferencePair, null=True, on_delete=models.SET_NULL, related_name="+")
    experiment_id = models.BigIntegerField()  # the source experiment (a plain id: survives its deletion)
    pair_hash = models.CharField(max_length=64)
    prompt = models.TextField()
    chosen = models.TextField()
    rejected = models.TextField()
    weight = models.FloatField()
    split = models.CharField(max_length=8, choices=[(s, s) for s in SPLITS])
    # False for a rule repair: training applies no NLL term to its chosen text (ml PreferenceExample).
    imitate = models.BooleanField(default=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["snapshot", "split"], name="snapshot_pair_split")]


class HistoryImport(models.Model):
    """One accepted history file: what it held and what it became."""

    brand = models.ForeignKey("brands.Brand", on_delete=models.CASCADE, related_name="history_imports")
    filename = models.CharField(max_length=255, blank=True)
    file_sha256 = models.CharField(max_length=64)
    rows = models.PositiveIntegerField()
    tests = models.PositiveIntegerField()
    report = models.JSONField(default=dict)  # experiments, decisions by outcome, pairs by status
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]


class ImportedTest(models.Model):
    """A brand's own id of a past test, and the experiment it became (so it is never imported twice)."""

    brand = models.ForeignKey("brands.Brand", on_delete=models.CASCADE, related_name="+")
    history_import = models.ForeignKey(HistoryImport, on_delete=models.CASCADE, related_name="imported_tests")
    test_id = models.CharField(max_length=200)
    experiment = models.OneToOneField("experiments.Experiment", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["brand", "test_id"], name="uniq_imported_test")]
