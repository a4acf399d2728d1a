"""Celery tasks of the brands domain: thin, take ids, call services."""
from __future__ import annotations

from celery import shared_task

from prefcontent.brands.erasure import ERASURE_SWEEP_TASK, brand_erasures_sweep


@shared_task(name=ERASURE_SWEEP_TASK, time_limit=600, soft_time_limit=570)
def sweep_erasures() -> dict:
    """Beat, and after every brand deletion: remove what deleted brands left outside the database."""
    return brand_erasures_sweep()
