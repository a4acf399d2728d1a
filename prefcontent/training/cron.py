"""Five-field cron expressions (UTC) of retrain policies: normalised, validated and read in one place.

The beat scheduler (a django-celery-beat CrontabSchedule) and the dashboard's "next run" both read
an expression through `cron_fields`, so what is accepted is exactly what is scheduled and shown.
"""
from __future__ import annotations

from datetime import datetime

from celery.schedules import crontab
from django.core.exceptions import ValidationError
from django_celery_beat.validators import crontab_validator

from prefcontent.core.errors import InvalidInput


def normalise_cron(expression: str | None) -> str:
    """The expression with its fields separated by one space ("" for none)."""
    return " ".join((expression or "").split())


def cron_fields(expression: str) -> dict[str, str]:
    """The CrontabSchedule fields of a five-field cron expression; InvalidInput when it is not one."""
    parts = expression.split()
    if len(parts) != 5:
        raise InvalidInput("cron needs five fields: minute hour day-of-month month day-of-week.",
                           code="invalid_cron", details={"cron": expression})
    try:
        crontab_validator(" ".join(parts))
    except ValidationError as exc:
        raise InvalidInput(f"Invalid cron expression: {'; '.join(exc.messages)}", code="invalid_cron",
                           details={"cron": expression}) from exc
    minute, hour, day_of_month, month_of_year, day_of_week = parts
    return {"minute": minute, "hour": hour, "day_of_month": day_of_month, "month_of_year": month_of_year,
            "day_of_week": day_of_week}


def next_cron_time(expression: str, now: datetime) -> datetime:
    """When the expression next fires after `now` (in `now`'s time zone; policies use UTC)."""
    schedule = crontab(**cron_fields(expression), nowfun=lambda: now)
    return now + schedule.remaining_estimate(now)
