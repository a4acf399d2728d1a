r"""The one brand compliance checker, used by pair filters, generation and the adapter gate.

Rules come from `ComplianceRule` rows (`compliance_rules_for(brand)`) and are compiled once
into `CompiledRules`; `check_text(rules, text, channel)` is a pure function over them, so a
caller that checks thousands of texts pays for the query and the regex compilation once.

A brand's own regular expressions run on RE2 (google-re2), whose matching time is linear in the
text: Python's backtracking `re` takes seconds on `(a+)+$` against 24 characters and minutes on
`^(\w+\s?)+$` against a headline, and these checks run on workers shared by every tenant. RE2 has
no backreferences or lookarounds; such a pattern is refused when the rule is saved, with RE2's
reason. Its `\w`, `\d`, `\b` are ASCII; `\pL` matches any letter. Banned phrases are escaped
text, so they keep Python's `re` (and its Unicode word boundaries).
"""
from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field

import re2

from prefcontent.content.claims.extract import extract_claims, percent_discounts
from prefcontent.core.text import folded_text

BANNED_PHRASE = "banned_phrase"
REGEX = "regex"
MAX_DISCOUNT = "max_discount"
REQUIRED_DISCLAIMER = "required_disclaimer"
MAX_LENGTH = "max_length"
RULE_KINDS = (BANNED_PHRASE, REGEX, MAX_DISCOUNT, REQUIRED_DISCLAIMER, MAX_LENGTH)
TEXT_KINDS = (BANNED_PHRASE, REGEX, REQUIRED_DISCLAIMER)  # rules whose `pattern` is the rule
LIMIT_KINDS = (MAX_DISCOUNT, MAX_LENGTH)  # rules whose `limit` is the rule
MAX_PATTERN_CHARS = 500
REGEX_MAX_MEMORY = 8 << 20  # bytes RE2 may use for one compiled rule
logger = logging.getLogger(__name__)

@dataclass(frozen=True)
class RuleSpec:
    """One rule as data, detached from the ORM."""

    kind: str  # one of RULE_KINDS
    pattern: str = ""  # phrase, regular expression or disclaimer text (text kinds)
    limit: float | None = None  # percent (max_discount) or characters (max_length)
    channel: str = ""  # "" applies to every channel
    message: str = ""  # shown to people instead of the generated message, when set
    rule_id: int | None = None  # the ComplianceRule row, when it came from one


@dataclass(frozen=True)
class Violation:
    """One broken rule."""

    rule: str  # the rule kind, e.g. "max_discount"
    message: str  # what is wrong, for people
    rule_id: int | None = None  # the ComplianceRule row that was broken
    match: str = ""  # the offending part of the text, when there is one


@dataclass(frozen=True)
class ComplianceResult:
    """The verdict on one text."""

    ok: bool  # no rule broken
    violations: list[Violation] = field(default_factory=list)  # every broken rule, in rule order

    def to_dict(self) -> dict:
        return {"ok": self.ok, "violations": [asdict(v) for v in self.violations]}


@dataclass(frozen=True)
class _Compiled:
    spec: RuleSpec
    regex: object | None  # re.Pattern for banned phrases, an RE2 pattern for regexes
    needle: str  # normalised disclaimer text


@dataclass(frozen=True)
class CompiledRules:
    """A brand's active rules, compiled once."""

    rules: tuple[_Compiled, ...] = ()

    @classmethod
    def from_specs(cls, specs) -> CompiledRules:
        compiled = []
        for spec in specs:
            try:
                compiled.append(_compile(spec))
            except ValueError as exc:
                # Saved before RE2 validated patterns (migration 0004 deactivates those) or edited by hand:
                # a check must not crash every caller of the brand's rules.
                logger.error("compliance rule %s cannot be applied and is skipped: %s", spec.rule_id, exc)
        return cls(tuple(compiled))

    def __len__(self) -> int:
        return len(self.rules)


def rule_validate(*, kind: str, pattern: str, limit: float | None) -> None:
    """Raise ValueError when the rule could never be applied (bad regex, missing limit, ...)."""
    if kind not in RULE_KINDS:
        raise ValueError(f"kind must be one of {RULE_KINDS}")
    if kind in TEXT_KINDS:
        if not pattern.strip():
            raise ValueError(f"a {kind} rule needs a non-empty pattern")
        if len(pattern) > MAX_PATTERN_CHARS:
            raise ValueError(f"pattern is longer than {MAX_PATTERN_CHARS} characters")
        if kind == REGEX:
            regex_compile(pattern)
    if kind in LIMIT_KINDS:
        if limit is None or limit < 0:
            raise ValueError(f"a {kind} rule needs a limit >= 0")
        if kind == MAX_DISCOUNT and limit > 100:
            raise ValueError("a discount limit is a percentage between 0 and 100")


def _re2_options() -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    options.max_mem = REGEX_MAX_MEMORY
    return options


def regex_compile(pattern: str):
    """A brand regex compiled by RE2 (case-insensitive); ValueError with RE2's reason when it cannot be."""
    if not isinstance(pattern, str) or "\x00" in pattern:
        raise ValueError("not a valid regular expression: it must be text without NUL characters")
    try:
        return re2.compile(pattern, _re2_options())
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ValueError(f"not a valid regular expression for RE2 (no backreferences or lookarounds): "
                         f"{reason}") from None


def _compile(spec: RuleSpec) -> _Compiled:
    rule_validate(kind=spec.kind, pattern=spec.pattern, limit=spec.limit)
    regex = None
    if spec.kind == BANNED_PHRASE:
        words = folded_text(spec.pattern).split(" ")
        regex = re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, words)) + r"(?!\w)")
    elif spec.kind == REGEX:
        regex = regex_compile(spec.pattern)
    needle = folded_text(spec.pattern) if spec.kind == REQUIRED_DISCLAIMER else ""
    return _Compiled(spec, regex, needle)


def claimed_discounts(text: str) -> list[tuple[float, str]]:
    """Every percentage the text claims as a discount, with the words that claim it.

    Read by the claim extractor, the one reading of claims in copy ("100% cotton" is no discount).
    """
    return [(claim.value, claim.text) for claim in percent_discounts(extract_claims(text))]


def cap_discounts(text: str, limit: float) -> str:
    """The text with every claimed percentage above `limit` written as `limit` ("half off" is left as is)."""
    over = [(start, end) for claim in percent_discounts(extract_claims(text))  # "half price" has no figures
            for start, end, value in claim.figures if value > limit]  # "Save 20% to 70%": only the 70
    for start, end in sorted(over, reverse=True):
        text = text[:start] + f"{limit:g}" + text[end:]
    return text


def check_text(rules: CompiledRules, text: str, channel: str = "") -> ComplianceResult:
    """Check one text against a brand's rules for a channel ("" checks only all-channel rules)."""
    violations: list[Violation] = []
    normalized = folded_text(text)
    discounts: list[tuple[float, str]] | None = None
    for rule in rules.rules:
        spec = rule.spec
        if spec.channel and spec.channel != channel:
            continue
        hit: tuple[str, str] | None = None  # (default message, matched text)
        if spec.kind == BANNED_PHRASE:
            m = rule.regex.search(normalized)
            if m:
                hit = (f"uses the banned phrase '{spec.pattern}'", m.group(0))
        elif spec.kind == REGEX:
            m = rule.regex.search(text)
            if m:
                hit = (f"matches the forbidden pattern /{spec.pattern}/", m.group(0))
        elif spec.kind == MAX_DISCOUNT:
            discounts = claimed_discounts(text) if discounts is None else discounts
            over = [(pct, words) for pct, words in discounts if pct > spec.limit]
            if over:
                pct, words = max(over)
                hit = (f"claims a {pct:g}% discount; the brand allows at most {spec.limit:g}%", words)
        elif spec.kind == REQUIRED_DISCLAIMER:
            if rule.needle not in normalized:
                where = f" on {spec.channel}" if spec.channel else ""
                hit = (f"lacks the required disclaimer '{spec.pattern}'{where}", "")
        elif spec.kind == MAX_LENGTH and len(text) > spec.limit:
            hit = (f"is {len(text)} characters long; the limit is {spec.limit:g}", "")
        if hit is not None:
            violations.append(Violation(rule=spec.kind, message=spec.message or hit[0], rule_id=spec.rule_id,
                                        match=hit[1]))
    return ComplianceResult(ok=not violations, violations=violations)


def compliance_rules_for(brand) -> CompiledRules:
    """The brand's active rules, compiled (one query)."""
    from prefcontent.brands.compliance_models import ComplianceRule

    rows = ComplianceRule.objects.filter(brand=brand, is_active=True).order_by("id")
    return CompiledRules.from_specs(row.spec() for row in rows)
