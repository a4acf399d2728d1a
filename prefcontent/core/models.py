from django.db import models
from django.utils import timezone


class WorkerHeartbeat(models.Model):
    """Written by the `ping` task: proof that a worker consumed the broker and reached the database."""

    marker = models.CharField(max_length=120, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
