"""Typed brand settings: every key a brand may set, with its type, range and default, in one place.

`Brand.settings` (JSON) stores only the keys a brand set, so a changed product default reaches
every brand that kept it. Writes go through `brand_settings_clean` (or `brand_settings_with`): an
unknown key, a wrong type or a value out of range is a `validation_error` naming the key. Reads
go through `brand_settings(brand)`, which never fails: a stored value that does not validate
(written before validation existed, or by hand) is read as its default and logged.

Adding a setting is one line in `BrandSettings`: its default, its check and what it means.
"""
from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field, fields
from typing import Any

from prefcontent.core.errors import InvalidInput
from prefcontent.core.text import NEAR_DUPLICATE_SIMILARITY

logger = logging.getLogger(__name__)

FLAG, BLOCK = "flag", "block"
COMPLIANCE_MODES = (BLOCK, FLAG)
OFF = "off"
CLAIM_GUARDS = (BLOCK, FLAG, OFF)
MAX_ORIGINS = 100
MAX_SIMULATION_ROUNDS = 1000
_ORIGIN = re.compile(r"[!-~]{1,253}")  # printable ASCII, no spaces: browsers send origins punycoded
_ROUND_KEY = re.compile(r"[a-z_0-9]{1,40}")


class InvalidSetting(ValueError):
    """A value its setting's check refuses; the message says what the setting must be."""


@dataclass(frozen=True)
class Number:
    """A finite JSON number between `low` and `high` (None: unbounded); `*_open` excludes the bound."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def describe(self) -> str:
        if self.low is not None and self.high is not None:
            return (f"a number in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}"
                    f"{')' if self.high_open else ']'}")
        if self.low is not None:
            return f"a number {'>' if self.low_open else '>='} {self.low:g}"
        if self.high is not None:
            return f"a number {'<' if self.high_open else '<='} {self.high:g}"
        return "a finite number"

    def __call__(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidSetting(f"must be {self.describe()}.")
        try:
            number = float(value)  # an integer too large for a float overflows
        except OverflowError:
            raise InvalidSetting(f"must be {self.describe()}.") from None
        below = self.low is not None and (number <= self.low if self.low_open else number < self.low)
        above = self.high is not None and (number >= self.high if self.high_open else number > self.high)
        if not math.isfinite(number) or below or above:
            raise InvalidSetting(f"must be {self.describe()}.")
        return number

    def schema(self) -> dict:
        out: dict = {"type": "number"}  # OpenAPI 3.0: exclusiveMinimum/-Maximum are flags on the bound
        if self.low is not None:
            out.update({"minimum": self.low, "exclusiveMinimum": self.low_open})
        if self.high is not None:
            out.update({"maximum": self.high, "exclusiveMaximum": self.high_open})
        return out


@dataclass(frozen=True)
class Boolean:
    """JSON true or false (not 0, 1 or a string)."""

    def __call__(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise InvalidSetting("must be true or false.")
        return value

    def schema(self) -> dict:
        return {"type": "boolean"}


@dataclass(frozen=True)
class Choice:
    """One of a few strings."""

    options: tuple[str, ...]

    def __call__(self, value: Any) -> str:
        if not isinstance(value, str) or value not in self.options:
            raise InvalidSetting(f"must be one of {', '.join(self.options)}.")
        return value

    def schema(self) -> dict:
        return {"type": "string", "enum": list(self.options)}


@dataclass(frozen=True)
class Origins:
    """"*" or a list of exact origins ("https://shop.example.com"); "*" in the list allows any."""

    def _entry(self, value: Any) -> bool:
        return isinstance(value, str) and _ORIGIN.fullmatch(value) is not None

    def __call__(self, value: Any) -> tuple[str, ...]:
        if value == "*":
            return ("*",)
        if not isinstance(value, list) or len(value) > MAX_ORIGINS or not all(map(self._entry, value)):
            raise InvalidSetting(f'must be "*" or a list of at most {MAX_ORIGINS} origins such as '
                             f'"https://shop.example.com".')
        return tuple(value)

    def salvage(self, value: Any) -> list | None:
        """The valid entries of a stored list that is not valid as a whole (the others never matched)."""
        return [v for v in value if self._entry(v)][:MAX_ORIGINS] if isinstance(value, list) else None

    def schema(self) -> dict:
        return {"oneOf": [{"type": "string", "enum": ["*"]},
                          {"type": "array", "maxItems": MAX_ORIGINS,
                           "items": {"type": "string", "pattern": f"^{_ORIGIN.pattern}$"}}]}


@dataclass(frozen=True)
class Texts:
    """A list of at most `most` non-empty texts of at most `chars` characters each (kept stripped)."""

    most: int
    chars: int

    def _entry(self, value: Any) -> bool:
        return isinstance(value, str) and bool(value.strip()) and len(value) <= self.chars

    def __call__(self, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or len(value) > self.most or not all(map(self._entry, value)):
            raise InvalidSetting(f"must be a list of at most {self.most} non-empty texts of at most "
                                 f"{self.chars} characters.")
        return tuple(v.strip() for v in value)

    def salvage(self, value: Any) -> list | None:
        return [v for v in value if self._entry(v)][:self.most] if isinstance(value, list) else None

    def schema(self) -> dict:
        return {"type": "array", "maxItems": self.most,
                "items": {"type": "string", "minLength": 1, "maxLength": self.chars}}


@dataclass(frozen=True)
class SimulationRounds:
    """Round reports: objects of numbers (or null) under short word keys, with an integer "round" and a
    number "true_ctr" (what the dashboard charts)."""

    def _number(self, value: Any) -> bool:
        try:
            Number()(value)
        except InvalidSetting:
            return False
        return True

    def _entry(self, value: Any) -> bool:
        return (isinstance(value, dict) and type(value.get("round")) is int and self._number(value.get("true_ctr"))
                and all(isinstance(k, str) and _ROUND_KEY.fullmatch(k) and (v is None or self._number(v))
                        for k, v in value.items()))

    def __call__(self, value: Any) -> tuple[dict, ...]:
        if not isinstance(value, list) or len(value) > MAX_SIMULATION_ROUNDS or not all(map(self._entry, value)):
            raise InvalidSetting(f"must be a list of at most {MAX_SIMULATION_ROUNDS} round reports: objects of "
                                 'numbers with an integer "round" and a number "true_ctr".')
        return tuple(value)

    def salvage(self, value: Any) -> list | None:
        return [v for v in value if self._entry(v)][:MAX_SIMULATION_ROUNDS] if isinstance(value, list) else None

    def schema(self) -> dict:
        return {"type": "array", "maxItems": MAX_SIMULATION_ROUNDS,
                "items": {"type": "object", "required": ["round", "true_ctr"],
                          "properties": {"round": {"type": "integer"}, "true_ctr": {"type": "number"}},
                          "additionalProperties": {"type": "number", "nullable": True}}}


def _setting(default: Any, check, doc: str, *, form: bool = True):
    """A field of BrandSettings; `form=False` keeps it off the dashboard's settings form (another form owns it)."""
    return field(default=default, metadata={"check": check, "doc": doc, "form": form})


PROBABILITY = Number(0, 1)
OPEN_PROBABILITY = Number(0, 1, low_open=True, high_open=True)


@dataclass(frozen=True)
class BrandSettings:
    """A brand's settings with the product defaults filled in."""

    decision_threshold: float = _setting(0.95, Number(0, 1, low_open=True),
                                         "Probability to be best at which the results describe an arm as the "
                                         "likely best (a description: the winner is named by the always-valid "
                                         "test at alpha).")
    alpha: float = _setting(0.05, OPEN_PROBABILITY,
                            "Error rate of a decision: the chance that an experiment whose arms do not differ "
                            "names a winner, however often it is looked at (also the intervals' level).")
    minimum_detectable_effect: float = _setting(
        0.1, Number(0, 10, low_open=True),
        "Smallest relative lift worth finding (0.1: +10 %): the decision test concludes soonest on effects of "
        "this size and later on smaller ones.")
    baseline_rate: float = _setting(
        0.05, Number(0, low_open=True),
        "The brand's usual primary-metric events per reader (0.05: one click per twenty readers): with the "
        "minimum detectable effect, the readers the decision test is tuned for.")
    event_retention_days: float = _setting(90, Number(1, 3650),
                                           "Days after an experiment ends that its raw events are kept; then they "
                                           "are dropped (its counters, hourly roll-ups and decision stay).")
    srm_p: float = _setting(0.001, OPEN_PROBABILITY,
                            "Sample-ratio-mismatch p-value below which an experiment is not decided.")
    pair_min_prob: float = _setting(0.95, PROBABILITY,
                                    "Probability that the chosen text is better, below which a pair is excluded.")
    pair_min_lift: float = _setting(0.0, Number(0), "Relative lift of the chosen text below which a pair is excluded.")
    near_duplicate_threshold: float = _setting(NEAR_DUPLICATE_SIMILARITY, Number(0, 1, low_open=True),
                                               "Trigram similarity at which a pair's two texts are near duplicates "
                                               "(excluded).")
    pairs_from_ranking: bool = _setting(True, Boolean(),
                                        "Also learn every ordering of non-winning arms a test established.")
    pairs_from_repairs: bool = _setting(False, Boolean(),
                                        "Teach the compliance rules with repair pairs (each rule-breaking arm's "
                                        "smallest compliant edit over it).")
    compliance_mode: str = _setting(BLOCK, Choice(COMPLIANCE_MODES),
                                    '"block" drops generated copy that breaks a rule; "flag" keeps it, marked.')
    claim_guard: str = _setting(BLOCK, Choice(CLAIM_GUARDS),
                                '"block" drops generated copy with a claim its brief\'s facts contradict or do not '
                                'support, and pairs whose chosen text has one are excluded; "flag" keeps such copy, '
                                'marked; "off" judges no claims. Briefs without facts are never judged.')
    allowed_claims: tuple[str, ...] = _setting((), Texts(50, 200),  # as a brief's allowed_claims
                                               'Claims the brand may make in any copy ("rated 4.8 by 2,000 '
                                               'customers", "organic"): a source for copy in every brief with '
                                               "facts, beside the brief's own.")
    allowed_origins: tuple[str, ...] = _setting((), Origins(),
                                                'Sites whose pages may call assign and events with the brand\'s API '
                                                'key ("*": any, for development).')
    auto_promote: bool = _setting(True, Boolean(), "Promote a candidate that passes the gate without a person "
                                  "(kept in step with the retrain policy, which edits it).", form=False)
    holdout_share: float = _setting(0.05, Number(0, 0.5),
                                    "Share of readers held out of learned copy: they always see the experiment's "
                                    "human-written (or base-model) arm, so lift is measured on live traffic (0: none).")
    lift_alert_weeks: float = _setting(3, Number(1, 52),
                                       "Weeks in a row whose lift interval reaches below zero before the lift alert "
                                       "fires.")
    lift_alert_drop: float = _setting(0.5, Number(0, 1, low_open=True),
                                      "Share of its established peak the weekly lift may lose before the decay alert "
                                      "fires (0.5: half).")
    simulation_history: tuple[dict, ...] = _setting((), SimulationRounds(),
                                                    "The closed-loop simulation's rounds (manage.py simulate).",
                                                    form=False)


SETTINGS = {f.name: f for f in fields(BrandSettings)}


def setting_check(name: str):
    return SETTINGS[name].metadata["check"]


def brand_settings_clean(raw: Any) -> dict:
    """`raw` as it may be stored; InvalidInput (validation_error) naming every bad key otherwise."""
    if not isinstance(raw, dict):
        raise InvalidInput("Brand settings must be an object.", code="validation_error",
                           details={"fields": {"settings": ["must be an object."]}})
    errors: dict[str, list[str]] = {}
    for key, value in raw.items():
        if key not in SETTINGS:
            errors[str(key)] = ["is not a known setting."]
            continue
        try:
            setting_check(key)(value)
        except InvalidSetting as exc:
            errors[key] = [str(exc)]
    if errors:
        reasons = "; ".join(f"{key} {' '.join(msgs)}" for key, msgs in sorted(errors.items()))
        raise InvalidInput(f"Invalid brand settings: {reasons}", code="validation_error",
                           details={"fields": {"settings": errors}})
    return dict(raw)


def brand_settings_repair(raw: Any) -> tuple[dict, dict[str, str]]:
    """(the stored settings with every invalid value dropped, why each dropped or trimmed key changed).

    A list setting keeps its valid entries. Used by the reader, by writes that change a few keys of
    what is stored, and by the migration that repaired the rows written before validation existed.
    """
    if not isinstance(raw, dict):
        return {}, ({"settings": "not an object"} if raw not in (None, {}) else {})
    kept, changed = {}, {}
    for key, value in raw.items():
        if key not in SETTINGS:
            changed[str(key)] = "unknown setting"
            continue
        check = setting_check(key)
        try:
            check(value)
        except InvalidSetting as exc:
            salvaged = check.salvage(value) if hasattr(check, "salvage") else None
            if salvaged:
                kept[key] = salvaged
            changed[key] = str(exc)
        else:
            kept[key] = value
    return kept, changed


def _log_invalid(brand_id: int | None, changed: dict[str, str]) -> None:
    logger.warning("brand %s: invalid stored settings ignored (a list keeps its valid entries; the rest reads as "
                   "the default): %s", brand_id, "; ".join(f"{k}: {v}" for k, v in sorted(changed.items())))


def brand_settings(brand) -> BrandSettings:
    """The brand's typed settings. Never fails: a stored bad value reads as its default (logged)."""
    kept, changed = brand_settings_repair(brand.settings)
    if changed:
        _log_invalid(brand.pk, changed)
    return BrandSettings(**{key: setting_check(key)(value) for key, value in kept.items()})


def brand_settings_with(brand, **changes) -> dict:
    """What to store for `brand` with `changes` applied, a None value unsetting its key (back to the
    default): the changes validated (InvalidInput), the other stored keys kept where still valid (an
    invalid one is dropped and logged)."""
    kept, changed = brand_settings_repair(brand.settings)
    if changed:
        _log_invalid(brand.pk, changed)
    unset = {key for key, value in changes.items() if value is None and key in SETTINGS}
    merged = {**kept, **brand_settings_clean({k: v for k, v in changes.items() if k not in unset})}
    return {key: value for key, value in merged.items() if key not in unset}


def brand_settings_schema() -> dict:
    """The JSON schema of a stored settings object, for the API documentation."""
    properties = {}
    for name, f in SETTINGS.items():
        check = f.metadata["check"]
        default = list(f.default) if isinstance(f.default, tuple) else f.default
        properties[name] = {**check.schema(), "default": default, "description": f.metadata["doc"]}
    return {"type": "object", "additionalProperties": False, "properties": properties}
