from django.db import models
from django.utils import timezone


class WorkerHeartbeat(models.Model):
    """Written by the `ping` task: proof that a worker consumed the broker and reached the database."""

    marker = models.CharField(max_length=120, unique=True)
    created_at = models.DateTimeField(default=timezone.now)


class IdempotencyRecord(models.Model):
    """The answer to a POST sent with an Idempotency-Key, so a retry gets it again instead of a second write.

    `status_code` is null while the first request runs (a concurrent retry gets 409 then). Only 2xx
    answers are kept: a refused request may be corrected and sent again with the same key.
    """

    principal = models.CharField(max_length=40, help_text='Who sent it: "u<user id>" or "k<api key id>".')
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64, help_text="sha256 of method, path and body.")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["principal", "key"], name="uniq_idempotency_key")]
