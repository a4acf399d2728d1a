"""Event ingestion: per-event validation, idempotent insert, exact per-arm counters.

The hot path works on plain dicts. Experiments and arms of the batch are resolved with one
query. Rows go in with INSERT ... ON CONFLICT DO NOTHING RETURNING, so the transaction knows
exactly which events it inserted, and the arm counters are incremented from those rows only,
in the same transaction, with the reader counters and hourly roll-ups of those rows (counters.py):
no decision or dashboard page aggregates the raw events. A concurrent retry of the same batch blocks on the unique index
until the first commits, then inserts nothing and counts nothing: no event is counted twice
or half-counted.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from prefcontent.core import metrics
from prefcontent.core.errors import InvalidInput, PayloadTooLarge
from prefcontent.core.fields import ID_MAX
from prefcontent.experiments.counters import count_batch
from prefcontent.experiments.models import EVENT_TYPES, RUNNING, Arm, Event
from prefcontent.experiments.units import unit_hasher, unit_id_problem
from prefcontent.tenancy import access
from prefcontent.tenancy.principal import Principal

MAX_EVENTS_PER_BATCH = 1000
EVENT_ID_RE = re.compile(r"[A-Za-z0-9._:\-]{1,64}")  # used with fullmatch: "$" would let "abc\n" through
# How far an event's timestamp may lie ahead of the server clock (or before the experiment's start).
DEFAULT_CLOCK_SKEW_S = 300


@dataclass
class IngestResult:
    accepted: int = 0  # events stored and counted by this call
    duplicates: list[str] = field(default_factory=list)  # event_ids seen before (or twice in this batch)
    rejected: list[dict] = field(default_factory=list)  # {"index", "event_id", "error": {"code", "message"}}


class _Reject(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _parse_time(raw) -> datetime:
    if isinstance(raw, bool) or raw is None:
        raise _Reject("invalid_timestamp", "timestamp must be an ISO 8601 string or epoch seconds.")
    try:
        if isinstance(raw, (int, float)):
            return datetime.fromtimestamp(raw, tz=UTC)
        if isinstance(raw, str) and len(raw) <= 40:
            parsed = datetime.fromisoformat(raw)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        pass
    raise _Reject("invalid_timestamp", "timestamp must be an ISO 8601 string or epoch seconds.")


_ID_TEXT = re.compile(r"[0-9]{1,19}")  # ASCII digits only: "²".isdigit() is true and int("²") fails


def _int_id(raw, name: str) -> int:
    """A positive 64-bit id, given as a JSON integer or a string of ASCII digits."""
    if isinstance(raw, str) and _ID_TEXT.fullmatch(raw):
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= ID_MAX:
        raise _Reject(f"invalid_{name}", f"{name} must be an integer id.")
    return raw


def _parse(raw) -> tuple[str, int, int | None, int | None, str, str, datetime]:
    if not isinstance(raw, dict):
        raise _Reject("invalid_event", "Each event must be a JSON object.")
    event_id = raw.get("event_id")
    if not isinstance(event_id, str) or not EVENT_ID_RE.fullmatch(event_id):
        raise _Reject("invalid_event_id", "event_id must be 1 to 64 characters of A-Z a-z 0-9 . _ : -")
    if "experiment" not in raw:
        raise _Reject("missing_experiment", "experiment is required.")
    experiment = _int_id(raw["experiment"], "experiment")
    arm = _int_id(raw["arm"], "arm") if raw.get("arm") is not None else None
    variant = _int_id(raw["variant"], "variant") if raw.get("variant") is not None else None
    if arm is None and variant is None:
        raise _Reject("missing_arm", "arm or variant is required.")
    kind = raw.get("type")
    if kind not in EVENT_TYPES:
        raise _Reject("invalid_type", f"type must be one of {', '.join(EVENT_TYPES)}.")
    unit_id = raw.get("unit_id")
    problem = unit_id_problem(unit_id)
    if problem:
        raise _Reject("invalid_unit_id", problem)
    return event_id, experiment, arm, variant, kind, unit_id, _parse_time(raw.get("timestamp"))


def _resolve(principal: Principal, experiment_ids: set[int]) -> dict[int, dict]:
    """experiment id -> {brand, org, status, started_at, arms: {arm id: variant id}} for visible experiments."""
    rows = Arm.objects.filter(experiment_id__in=experiment_ids,
                              experiment__brand_id__in=principal.visible_brand_ids()).values_list(
        "id", "variant_id", "experiment_id", "experiment__brand_id", "experiment__brand__organization_id",
        "experiment__status", "experiment__started_at", "experiment__primary_metric", "experiment__allocation")
    found: dict[int, dict] = {}
    for arm_id, variant_id, exp_id, brand_id, org_id, status, started_at, metric, allocation in rows:
        info = found.setdefault(exp_id, {"brand": brand_id, "org": org_id, "status": status,
                                         "started_at": started_at, "arms": {},
                                         "counting": (metric, allocation == "thompson")})
        info["arms"][arm_id] = variant_id
    return found


def _arm_of(info: dict, arm: int | None, variant: int | None) -> int:
    if arm is not None:
        if arm not in info["arms"] or (variant is not None and info["arms"][arm] != variant):
            raise _Reject("unknown_arm", "No such arm in this experiment.")
        return arm
    for arm_id, variant_id in info["arms"].items():
        if variant_id == variant:
            return arm_id
    raise _Reject("unknown_variant", "This variant is not an arm of this experiment.")


def _insert_returning(rows: list[tuple]) -> set[tuple[int, str]]:
    """Insert rows, skipping (brand, event_id, occurred_at) already present; return the (brand, event_id) inserted."""
    table = Event._meta.db_table
    cols = "brand_id, experiment_id, arm_id, event_id, type, unit_hash, occurred_at, received_at"
    # No conflict target: the dedup key is the table's one unique key besides the id, and naming none
    # keeps this statement right on the plain table (before migration 0006) and on the partitioned one.
    tail = "ON CONFLICT DO NOTHING RETURNING brand_id, event_id"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # unnest of 8 arrays: one statement with 8 parameters whatever the batch size. The arrays go
            # as text literals: every value is an int, hex, a known word, an ISO time or an event_id
            # restricted to [A-Za-z0-9._:-], so none needs escaping; binding 4,000 values one by one
            # costs more than the insert itself.
            columns = list(zip(*rows, strict=True))
            params = [_pg_array(c, quote=i >= 3) for i, c in enumerate(columns[:7])]
            cursor.execute(
                f"INSERT INTO {table} ({cols}) SELECT *, %s::timestamptz FROM unnest(%s::bigint[], %s::bigint[], "
                f"%s::bigint[], %s::varchar[], %s::varchar[], %s::varchar[], %s::timestamptz[]) {tail}",
                [rows[0][7], *params],
            )
        else:
            adapt = connection.ops.adapt_datetimefield_value
            values = [(*r[:6], adapt(r[6]), adapt(r[7])) for r in rows]
            placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(values))
            cursor.execute(f"INSERT INTO {table} ({cols}) VALUES {placeholders} {tail}",
                           [v for row in values for v in row])
        return {(int(b), e) for b, e in cursor.fetchall()}


def _pg_array(values, *, quote: bool) -> str:
    if quote:
        return '{"' + '","'.join(v.isoformat() if isinstance(v, datetime) else v for v in values) + '"}'
    return "{" + ",".join(str(v) for v in values) + "}"


def events_ingest(*, principal: Principal, events: list) -> IngestResult:
    """Events naming another tenant's experiment are rejected one by one (unknown_experiment), as if absent."""
    access.capability_require(principal, "events.write")
    if not isinstance(events, list) or not events:
        raise InvalidInput("Send a non-empty list of events in 'events'.", code="empty_batch")
    if len(events) > MAX_EVENTS_PER_BATCH:
        raise PayloadTooLarge(f"A batch holds at most {MAX_EVENTS_PER_BATCH} events.", code="batch_too_large",
                              details={"max_events": MAX_EVENTS_PER_BATCH, "events": len(events)})
    result = IngestResult()
    refused: Counter[tuple[str, str]] = Counter()  # (brand, reason) -> events, for the metrics
    parsed: list[tuple[int, tuple]] = []
    for index, raw in enumerate(events):
        try:
            parsed.append((index, _parse(raw)))
        except _Reject as exc:
            _reject(result, index, raw, exc)
            refused["unknown", exc.code] += 1
    experiments = _resolve(principal, {p[1] for _, p in parsed}) if parsed else {}
    for brand_id, org_id in sorted({(info["brand"], info["org"]) for info in experiments.values()}):
        access.brand_ref_require(principal, brand_id=brand_id, organization_id=org_id, capability="events.write")
    now = timezone.now()
    skew = timedelta(seconds=getattr(settings, "EVENTS_MAX_CLOCK_SKEW_S", DEFAULT_CLOCK_SKEW_S))
    future_limit = now + skew
    hashers: dict[int, Callable[[str], str]] = {}
    rows: dict[tuple[int, str], tuple] = {}
    for index, (event_id, exp_id, arm, variant, kind, unit_id, occurred) in parsed:
        try:
            info = experiments.get(exp_id)
            if info is None:
                raise _Reject("unknown_experiment", "No such experiment.")
            if info["status"] != RUNNING:
                raise _Reject("experiment_not_running", f"The experiment is {info['status']}, not running.")
            arm_id = _arm_of(info, arm, variant)
            if occurred > future_limit:
                raise _Reject("timestamp_in_future", "timestamp is in the future.")
            if info["started_at"] and occurred < info["started_at"] - skew:
                raise _Reject("timestamp_before_start", "timestamp is before the experiment started.")
        except _Reject as exc:
            _reject(result, index, events[index], exc)
            refused[str(info["brand"]) if info else "unknown", exc.code] += 1
            continue
        key = (info["brand"], event_id)
        if key in rows:
            result.duplicates.append(event_id)
            refused[str(info["brand"]), "duplicate"] += 1
            continue
        hasher = hashers.get(info["brand"])
        if hasher is None:
            hasher = hashers[info["brand"]] = unit_hasher(info["brand"])
        rows[key] = (info["brand"], exp_id, arm_id, event_id, kind, hasher(unit_id), occurred, now)
    if rows:
        inserted = _store(rows, result, {exp_id: info["counting"] for exp_id, info in experiments.items()})
        for brand_id, n in Counter(brand_id for brand_id, _ in inserted).items():
            metrics.EVENTS_INGESTED.labels(brand=str(brand_id)).inc(n)
        for brand_id, _ in set(rows) - inserted:
            refused[str(brand_id), "duplicate"] += 1
    for (brand, reason), n in refused.items():
        metrics.EVENTS_REJECTED.labels(brand=brand, reason=reason).inc(n)
    result.rejected.sort(key=lambda r: r["index"])
    return result


def _reject(result: IngestResult, index: int, raw, exc: _Reject) -> None:
    event_id = raw.get("event_id") if isinstance(raw, dict) else None
    if not (isinstance(event_id, str) and EVENT_ID_RE.fullmatch(event_id)):
        event_id = None  # echo only an id that is one: a lone surrogate would break the answer itself
    result.rejected.append({"index": index, "event_id": event_id,
                            "error": {"code": exc.code, "message": exc.message}})


def _store(rows: dict[tuple[int, str], tuple], result: IngestResult,
           counting: dict[int, tuple[str, bool]]) -> set[tuple[int, str]]:
    # Sorted keys: concurrent batches take unique-index locks in one order, so they cannot deadlock
    # (events, then readers and hours in count_batch, then arms: every batch in that order).
    ordered = [rows[k] for k in sorted(rows)]
    with transaction.atomic():
        inserted = _insert_returning(ordered)
        increments = count_batch([rows[k] for k in inserted], counting, ordered[0][7]) if inserted else {}
        for arm_id in sorted(increments):  # one order of row locks across transactions
            Arm.objects.filter(pk=arm_id).update(**{f: F(f) + n for f, n in increments[arm_id].items()})
    result.accepted += len(inserted)
    result.duplicates.extend(k[1] for k in sorted(rows) if k not in inserted)
    return inserted
