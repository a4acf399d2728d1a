"""Generation jobs (generate or score), their candidates, and the liveness of generate-queue shards.

A job row is the source of truth: the API waits on it (sync) or hands it out to poll (async),
and a worker claims it with one UPDATE. Kept candidates become content.Variant rows whose
provenance names the job, the adapter version (or the base model), model id, parameters,
seed and engine.
"""
from __future__ import annotations

from django.db import models
from django.utils import timezone


class GenerationJob(models.Model):
    class Kind(models.TextChoices):
        GENERATE = "generate"
        SCORE = "score"

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    TERMINAL = (State.SUCCEEDED, State.FAILED)

    brand = models.ForeignKey("brands.Brand", on_delete=models.CASCADE, related_name="generation_jobs")
    brief = models.ForeignKey("content.Brief", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="generation_jobs")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.GENERATE)
    state = models.CharField(max_length=12, choices=State.choices, default=State.QUEUED, db_index=True)
    channel = models.CharField(max_length=16)
    prompt = models.TextField(help_text="The rendered prompt the engine completes.")
    prompt_version = models.CharField(max_length=32)
    params = models.JSONField(default=dict, help_text="n, temperature, top_p, max_new_tokens, seed, best_of, beta.")
    texts_to_score = models.JSONField(default=list, blank=True, help_text="Candidate texts of a score job.")
    # The model chosen at submission; null adapter + uses_base_model=True means the base model.
    adapter_version = models.ForeignKey("adapters.AdapterVersion", null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="generation_jobs")
    uses_base_model = models.BooleanField(default=False)
    model_id = models.CharField(max_length=500, blank=True)
    engine = models.CharField(max_length=32, blank=True)
    seed = models.BigIntegerField(null=True, blank=True, help_text="Seed the engine actually used.")
    result = models.JSONField(default=dict, blank=True, help_text="Counts, and the ranked scores of a score job.")
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    shard = models.PositiveIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True)
    requested_by_user_id = models.BigIntegerField(null=True, blank=True)
    requested_by_api_key_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["state", "created_at"], name="generation_job_state_created")]

    def __str__(self) -> str:
        return f"{self.kind} job {self.pk} of brand {self.brand_id} ({self.state})"

    @property
    def is_done(self) -> bool:
        return self.state in self.TERMINAL


class GeneratedCandidate(models.Model):
    """One completion of a generate job and what the output checks made of it."""

    class Status(models.TextChoices):
        KEPT = "kept"  # stored as a variant
        FLAGGED = "flagged"  # stored as a variant, with compliance violations (brand in "flag" mode)
        BLOCKED = "blocked"  # compliance violations, not stored (brand in "block" mode)
        DUPLICATE = "duplicate"  # a near duplicate of a better candidate in the same response
        EMPTY = "empty"  # the model produced no text
        MALFORMED = "malformed"  # not copy for the channel (prefcontent.content.wellformed), not stored
        NOT_SELECTED = "not_selected"  # ranked below the best n of a best-of request

    STORED = (Status.KEPT, Status.FLAGGED)

    job = models.ForeignKey(GenerationJob, on_delete=models.CASCADE, related_name="candidates")
    index = models.PositiveIntegerField(help_text="Sequence index in the engine's result (its seed offset).")
    text = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices)
    variant = models.ForeignKey("content.Variant", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="generation_candidates")
    violations = models.JSONField(default=list, blank=True)
    duplicate_of = models.PositiveIntegerField(null=True, blank=True, help_text="Index of the kept look-alike.")
    similarity = models.FloatField(null=True, blank=True)
    logprob = models.FloatField(null=True, blank=True)
    token_count = models.PositiveIntegerField(default=0)
    finish_reason = models.CharField(max_length=16, blank=True,
                                     help_text="stop / newline: the model ended the text; length / max_chars: a limit "
                                               "cut it off (ml.serving.stops).")
    score = models.FloatField(null=True, blank=True, help_text="Implicit DPO reward (best-of requests).")
    rank = models.PositiveIntegerField(null=True, blank=True, help_text="1 = best among the stored ones.")

    class Meta:
        ordering = ["job_id", "rank", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="uniq_candidate_index_per_job")]

    def __str__(self) -> str:
        return f"candidate {self.index} of job {self.job_id} ({self.status})"


class GenerationShard(models.Model):
    """The last heartbeat a generate-queue shard answered; live shards own brands by rendezvous hashing."""

    shard = models.PositiveIntegerField(primary_key=True)
    last_seen_at = models.DateTimeField()
    worker = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"generate shard {self.shard} (seen {self.last_seen_at:%Y-%m-%d %H:%M:%S})"
