"""Output checks run on every generation: empty or malformed outputs, brand compliance, claims, near duplicates.

Pure functions over texts and a brand's compiled rules, so they are tested without a model.
"""
from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import date

from django.utils import timezone

from prefcontent.brands.compliance import CompiledRules, check_text
from prefcontent.brands.settings import BLOCK, OFF, brand_settings
from prefcontent.content.claims import BriefFacts, check_claims, claim_problems
from prefcontent.content.claims.facts import facts_read
from prefcontent.content.wellformed import form_problems
from prefcontent.core.text import trigram_similarity
from prefcontent.generation.models import GeneratedCandidate

Status = GeneratedCandidate.Status


def compliance_mode(brand) -> str:
    """The brand's compliance_mode: "flag" keeps violating outputs marked; "block" (the default) drops them."""
    return brand_settings(brand).compliance_mode


@dataclass(frozen=True)
class ClaimGuard:
    """What generated copy for one brief may claim, and what the brand does with copy that claims more."""

    facts: BriefFacts
    mode: str  # the brand's claim_guard: "block" or "flag"
    today: date  # the day the copy is judged for ("ends tonight" is read from it)
    product: str = ""  # the brief's product line, an allowed claim too
    locale: str = "en"

    def problems(self, text: str) -> list[dict]:
        """The contradicted and unsupported claims of `text`, as violations ({"rule": "claim", ...})."""
        return [{"rule": "claim", "message": f"{p['verdict']} {p['kind']} claim {p['text']!r}: {p['reason']}",
                 "match": p["text"], **{k: p[k] for k in ("kind", "verdict", "reason", "value", "detail")}}
                for p in claim_problems(check_claims(text, self.facts, today=self.today, locale=self.locale,
                                                     product=self.product))]


def claim_guard_for(brand, brief) -> ClaimGuard | None:
    """The guard for copy answering `brief`; None when the brand turned it off or the brief has no facts."""
    cfg = brand_settings(brand)
    mode = cfg.claim_guard
    facts = facts_read(getattr(brief, "facts", None), also_allowed=cfg.allowed_claims) if brief is not None else None
    if mode == OFF or facts is None:
        return None
    return ClaimGuard(facts=facts, mode=mode, today=timezone.localdate(), product=brief.product or "",
                      locale=brief.locale or brand.locale or "en")


def clean_output(text: str) -> str:
    """The text without control characters (a sampled byte can be NUL, which no copy needs) or stray surrogates."""
    kept = (ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs"))
    return "".join(kept).strip()


@dataclass(frozen=True)
class CheckedOutput:
    """One output and the verdict of the checks."""

    index: int  # sequence index in the engine result
    text: str  # the output text
    status: str  # a GeneratedCandidate.Status value
    violations: list[dict] = field(default_factory=list)  # compliance violations (flagged or blocked), or
    # for a malformed output what keeps it from being copy for the channel ({"rule": "well_formed", ...})
    duplicate_of: int | None = None  # index of the earlier output it nearly repeats
    similarity: float | None = None  # trigram similarity to that output

    @property
    def usable(self) -> bool:
        return self.status in GeneratedCandidate.STORED


def check_outputs(outputs: list[tuple[int, str]], *, rules: CompiledRules, channel: str, mode: str,
                  dedup_threshold: float, prompt: str = "", claims: ClaimGuard | None = None) -> list[CheckedOutput]:
    """Verdicts in input order, on cleaned texts. An output repeating an earlier usable one is a duplicate.

    A malformed output (prefcontent.content.wellformed: several lines for a one-line channel, over the
    channel's length, chat markup, an echo of `prompt`, repetition) is never served, whatever the
    compliance mode: it is not copy. With a claim guard, a claim the brief's facts contradict or do
    not support is a violation ({"rule": "claim", ...}) blocked or flagged by the guard's own mode.
    Blocked and malformed outputs do not count as originals: a compliant text must not be dropped for
    resembling one that was thrown away.
    """
    checked: list[CheckedOutput] = []
    originals: list[CheckedOutput] = []
    for index, raw in outputs:
        text = clean_output(raw)
        if not text:
            checked.append(CheckedOutput(index, text, Status.EMPTY))
            continue
        problems = form_problems(text, channel, prompt)
        if problems:
            checked.append(CheckedOutput(index, text, Status.MALFORMED,
                                         [{"rule": "well_formed", "message": p} for p in problems]))
            continue
        verdict = check_text(rules, text, channel)
        violations = [asdict(v) for v in verdict.violations]
        claimed = claims.problems(text) if claims is not None else []
        if (not verdict.ok and mode == BLOCK) or (claimed and claims.mode == BLOCK):
            checked.append(CheckedOutput(index, text, Status.BLOCKED, violations + claimed))
            continue
        violations += claimed
        twin = max(((trigram_similarity(text, o.text), o) for o in originals), key=lambda pair: pair[0], default=None)
        if twin is not None and twin[0] >= dedup_threshold:
            checked.append(CheckedOutput(index, text, Status.DUPLICATE, violations, twin[1].index, round(twin[0], 4)))
            continue
        out = CheckedOutput(index, text, Status.KEPT if not violations else Status.FLAGGED, violations)
        originals.append(out)
        checked.append(out)
    return checked
