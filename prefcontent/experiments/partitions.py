"""The events table partitioned by day on PostgreSQL: partitions made ahead, whole days dropped by retention.

`experiments_event` is PARTITION BY RANGE (occurred_at), one partition per UTC day
(`experiments_event_pYYYYMMDD`) and a default partition for a timestamp whose day has none (a late
event for a day already dropped, or a day the maintenance task missed). The dedup key (brand,
event_id, occurred_at) holds across partitions because occurred_at picks the partition: a retry
repeats its event, timestamp included, and lands on the row it repeats whenever it comes.

SQLite keeps the plain table; every function here is a no-op there.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from django.db import OperationalError, connection, transaction
from django.utils import timezone

TABLE = "experiments_event"
DEFAULT_PARTITION = f"{TABLE}_pdefault"
DAYS_AHEAD = 7  # the hourly task keeps a week made: a missed day of maintenance costs nothing
LOCK_TIMEOUT = "5s"  # DDL on a partition waits at most this for ingestion's locks, then tries next hour

log = logging.getLogger(__name__)


def partitioned() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = %s::regclass", [TABLE])
        return cursor.fetchone() is not None


def partition_name(day: date) -> str:
    return f"{TABLE}_p{day:%Y%m%d}"


def _bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tzinfo=UTC)
    return start, start + timedelta(days=1)


def day_partitions(cursor) -> dict[date, str]:
    """The day partitions that exist: day -> table name (the default partition apart)."""
    cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                   "WHERE i.inhparent = %s::regclass", [TABLE])
    found = {}
    for (name,) in cursor.fetchall():
        if name != DEFAULT_PARTITION:
            found[datetime.strptime(name.rsplit("_p", 1)[1], "%Y%m%d").date()] = name
    return found


def partition_create(cursor, day: date) -> bool:
    """Create the day's partition unless it exists or the default partition holds rows of that day
    (PostgreSQL would refuse it; those rows stay in the default). True when created."""
    if day in day_partitions(cursor):
        return False
    start, end = _bounds(day)
    cursor.execute(f"SELECT 1 FROM {DEFAULT_PARTITION} WHERE occurred_at >= %s AND occurred_at < %s LIMIT 1",
                   [start, end])
    if cursor.fetchone():
        log.warning("events of %s are in the default partition; no day partition made for it", day)
        return False
    # Literal bounds: a partition bound takes no parameters. Both are datetimes this module made.
    cursor.execute(f"CREATE TABLE {partition_name(day)} PARTITION OF {TABLE} "
                   f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')")
    return True


def events_partitions_ensure(*, now: datetime | None = None, days_ahead: int = DAYS_AHEAD) -> list[date]:
    """Make the partitions of today and the next `days_ahead` days (a system task). The days made."""
    if not partitioned():
        return []
    today = (now or timezone.now()).astimezone(UTC).date()
    made = []
    for offset in range(days_ahead + 1):
        day = today + timedelta(days=offset)
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                if partition_create(cursor, day):
                    made.append(day)
        except OperationalError as exc:  # lock_timeout: ingestion held the table; the next run makes it
            log.warning("partition of %s not made: %s", day, exc)
    return made


def _experiments_by_day(days: list[date]) -> dict[date, set[int]]:
    """The experiments with events on each day, from the hourly roll-ups ingestion keeps with the events."""
    from prefcontent.experiments.models import ArmHour

    found: dict[date, set[int]] = defaultdict(set)
    if not days:
        return found
    start, end = _bounds(min(days))[0], _bounds(max(days))[1]
    for hour, experiment_id in ArmHour.objects.filter(hour__gte=start, hour__lt=end).values_list(
            "hour", "arm__experiment_id").distinct():
        found[hour.astimezone(UTC).date()].add(experiment_id)
    return found


def events_partitions_drop_expired(expired: set[int], *, now: datetime | None = None,
                                   min_retention_days: float = 0) -> list[date]:
    """Drop whole day partitions whose events all belong to `expired` experiments (ended and past their
    brand's retention window). Only days older than the shortest window are looked at (a younger day's
    events cannot all be expired). A partition goes only after a scan finds no event of another
    experiment in it, so a roll-up that missed an event (a bulk load) cannot cost that event.
    The days dropped."""
    if not partitioned():
        return []
    now = now or timezone.now()
    before = min(now.astimezone(UTC).date(), (now - timedelta(days=min_retention_days)).astimezone(UTC).date())
    with connection.cursor() as cursor:
        days = sorted(d for d in day_partitions(cursor) if d < before)
    by_day = _experiments_by_day(days)
    dropped = []
    for day in days:
        if not by_day.get(day, set()) <= expired:
            continue
        name = partition_name(day)
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                # No insert into the day between the scan and the drop: a late event that got in first
                # is found by the scan, one that comes after waits, fails, and its retry lands elsewhere.
                cursor.execute(f"LOCK TABLE {name} IN SHARE MODE")
                cursor.execute(f"SELECT 1 FROM {name} WHERE NOT (experiment_id = ANY(%s)) LIMIT 1",
                               [sorted(by_day.get(day, ()))])
                if cursor.fetchone():
                    continue
                cursor.execute(f"ALTER TABLE {TABLE} DETACH PARTITION {name}")
                cursor.execute(f"DROP TABLE {name}")
        except OperationalError as exc:
            log.warning("partition of %s not dropped: %s", day, exc)
            continue
        dropped.append(day)
    return dropped
