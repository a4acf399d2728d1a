"""Parsing and validating a history file of past A/B tests (CSV or JSONL), before anything is written.

One row is one variant of one past test. Every problem is reported with the row it is on
(1-based data row; the CSV header is not counted), and a file with any problem is refused
as a whole, so an import is never half done.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.utils.dateparse import parse_date, parse_datetime
from django.utils.timezone import is_naive, make_aware

from prefcontent.core.safe_json import BodyRefused, parse_json, unstorable_text

REQUIRED_COLUMNS = ("test_id", "variant_text", "impressions", "clicks", "conversions")
OPTIONAL_COLUMNS = ("started_at", "ended_at", "brief", "product", "audience", "tone", "channel", "is_control")
MAX_TEXT_CHARS = 10_000
MAX_COUNT = 10**12  # impressions, clicks, conversions of one arm: far above any real test, far below a bigint
TRUE = {"1", "true", "yes", "y", "t"}
FALSE = {"", "0", "false", "no", "n", "f"}


@dataclass(frozen=True)
class RowError:
    """One rejected row (row None: the whole file)."""

    row: int | None  # 1-based data row, or None for a file-level problem
    reason: str  # machine-readable code
    message: str  # for people


@dataclass
class HistoryArm:
    """One variant of a past test."""

    row: int  # where it came from
    text: str  # the variant copy
    impressions: int  # exposures
    clicks: int  # clicks among them
    conversions: int  # conversions among them
    is_control: bool  # marked as the control (else the test's first row is)


@dataclass
class HistoryTest:
    """One past test: its arms and what it was about."""

    test_id: str  # the brand's own identifier of the test
    arms: list[HistoryArm] = field(default_factory=list)  # in file order
    started_at: datetime | None = None  # when it started, if known
    ended_at: datetime | None = None  # when it ended, if known
    brief: str = ""  # free-text brief, if given
    product: str = ""  # product line of the prompt
    audience: str = ""  # audience line of the prompt
    tone: str = ""  # tone line of the prompt
    channel: str = ""  # channel the copy ran on


@dataclass
class ParsedHistory:
    tests: list[HistoryTest]  # valid tests, in order of first appearance
    errors: list[RowError]  # every problem found; the import must not proceed when non-empty
    rows: int  # data rows read


def _rows(text: str, fmt: str) -> Iterator[tuple[int, dict | None, str | None]]:
    """(row number, fields, error) per data row."""
    if fmt == "jsonl":
        n = 0
        for line in text.splitlines():
            if not line.strip():
                continue
            n += 1
            try:
                obj = parse_json(line)
            except BodyRefused as exc:
                yield n, None, exc.message
                continue
            yield (n, obj, None) if isinstance(obj, dict) else (n, None, "a JSONL row must be an object")
        return
    reader = csv.DictReader(io.StringIO(text, newline=""))
    n = 0
    try:
        for n, row in enumerate(reader, start=1):
            if None in row:
                yield n, None, "more fields than the header has columns"
            else:
                yield n, row, None
    except csv.Error as exc:  # e.g. a field over the csv module's limit: the rest of the file cannot be read
        yield n + 1, None, f"unreadable CSV from here on: {exc}"


def _int(value, name: str) -> int:
    """A count from an uploaded row; ValueError (not TypeError) because each becomes a row's 400 error."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a whole number")  # noqa: TRY004
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        value = value.strip()
        if not (value.lstrip("-").isascii() and value.lstrip("-").isdigit()):
            raise ValueError(f"{name} must be a whole number, got {value!r}")
        value = int(value)
    if not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number")  # noqa: TRY004
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")
    if value > MAX_COUNT:
        raise ValueError(f"{name} must be at most {MAX_COUNT:,}, got {value}")
    return value


def _when(value, name: str) -> datetime | None:
    if value in (None, ""):
        return None
    text = str(value).strip()
    parsed = parse_datetime(text)
    if parsed is None:
        day = parse_date(text)
        parsed = datetime(day.year, day.month, day.day) if day else None
    if parsed is None:
        raise ValueError(f"{name} is not an ISO date or date-time: {text!r}")
    return make_aware(parsed, UTC) if is_naive(parsed) else parsed


def _str(value) -> str:
    return "" if value is None else str(value).strip()


def detect_format(name: str, data: bytes) -> str:
    """"jsonl" or "csv", from the file name, else from the first non-blank character."""
    lowered = name.lower()
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if lowered.endswith(".csv"):
        return "csv"
    return "jsonl" if data.lstrip()[:1] == b"{" else "csv"


def parse_history(data: bytes, fmt: str) -> ParsedHistory:
    """Parse and validate a whole file; see the module docstring."""
    errors: list[RowError] = []
    # surrogateescape keeps undecodable bytes as lone surrogates, so a bad byte is pinned to its row.
    text = data.decode("utf-8-sig", errors="surrogateescape")
    if fmt == "csv":
        try:
            header = next(csv.reader(io.StringIO(text.split("\n", 1)[0])), [])
        except csv.Error as exc:
            return ParsedHistory([], [RowError(None, "malformed_file", f"the CSV header cannot be read: {exc}")], 0)
        missing = [c for c in REQUIRED_COLUMNS if c not in [h.strip() for h in header]]
        if missing:
            return ParsedHistory([], [RowError(None, "missing_columns",
                                               f"missing required columns: {', '.join(missing)}")], 0)
    tests: dict[str, HistoryTest] = {}
    rows = 0
    for n, raw, error in _rows(text, fmt):
        rows = n
        if error is not None:
            errors.append(RowError(n, "malformed_row", error))
            continue
        raw = {str(k).strip(): v for k, v in raw.items()}
        if any(isinstance(v, str) and any("\udc80" <= ch <= "\udcff" for ch in v) for v in raw.values()):
            errors.append(RowError(n, "encoding_error", "the row is not valid UTF-8"))
            continue
        unstorable = next((f"{k} {p}" for k, v in raw.items() if isinstance(v, str) for p in [unstorable_text(v)] if p),
                          None)
        if unstorable or any(unstorable_text(k) for k in raw):
            errors.append(RowError(n, "invalid_text", unstorable or "a column name cannot be stored"))
            continue
        missing = [c for c in REQUIRED_COLUMNS if raw.get(c) in (None, "")]
        if missing:
            errors.append(RowError(n, "missing_value", f"missing {', '.join(missing)}"))
            continue
        try:
            impressions = _int(raw["impressions"], "impressions")
            clicks = _int(raw["clicks"], "clicks")
            conversions = _int(raw["conversions"], "conversions")
            started, ended = _when(raw.get("started_at"), "started_at"), _when(raw.get("ended_at"), "ended_at")
            control = _str(raw.get("is_control")).lower()
            if control not in TRUE | FALSE:
                raise ValueError(f"is_control must be true or false, got {control!r}")
        except ValueError as exc:
            errors.append(RowError(n, "invalid_value", str(exc)))
            continue
        text_value = _str(raw["variant_text"])
        problem = None
        if clicks > impressions:
            problem = ("clicks_above_impressions", f"clicks ({clicks}) exceed impressions ({impressions})")
        elif conversions > impressions:
            problem = ("conversions_above_impressions",
                       f"conversions ({conversions}) exceed impressions ({impressions})")
        elif len(text_value) > MAX_TEXT_CHARS:
            problem = ("text_too_long", f"variant_text is longer than {MAX_TEXT_CHARS} characters")
        elif started and ended and ended < started:
            problem = ("invalid_dates", "ended_at is before started_at")
        if problem:
            errors.append(RowError(n, *problem))
            continue
        test_id = _str(raw["test_id"])[:200]
        test = tests.get(test_id)
        if test is None:
            test = tests[test_id] = HistoryTest(
                test_id=test_id, started_at=started, ended_at=ended, brief=_str(raw.get("brief")),
                product=_str(raw.get("product")), audience=_str(raw.get("audience")), tone=_str(raw.get("tone")),
                channel=_str(raw.get("channel")),
            )
        if any(arm.text == text_value for arm in test.arms):
            errors.append(RowError(n, "duplicate_variant", f"test {test_id!r} already has this variant_text"))
            continue
        if control in TRUE and any(arm.is_control for arm in test.arms):
            errors.append(RowError(n, "two_controls", f"test {test_id!r} already has a control"))
            continue
        test.arms.append(HistoryArm(n, text_value, impressions, clicks, conversions, control in TRUE))
    if rows == 0 and not errors:
        errors.append(RowError(None, "empty_file", "the file has no data rows"))
    for test in tests.values():
        if len(test.arms) == 1:
            errors.append(RowError(test.arms[0].row, "single_variant",
                                   f"test {test.test_id!r} has only one variant; a test needs two or more"))
    errors.sort(key=lambda e: (e.row is not None, e.row or 0))
    return ParsedHistory([t for t in tests.values() if len(t.arms) > 1], errors, rows)
