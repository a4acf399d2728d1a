"""Periodic tasks, synced into django-celery-beat's tables by the one scheduler process.

Each domain adds its entries here: name -> {"task": ..., "schedule": seconds or crontab}.
"""
from __future__ import annotations

BEAT_SCHEDULE: dict[str, dict] = {}
