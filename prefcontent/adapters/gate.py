"""The promotion gate: checks an adapter candidate against its base before anyone serves it.

Pure: it takes the holdout evaluation and aligned generations (plain data) and returns a
report in which every check carries its value, its threshold and whether it passed. No ORM,
so the thresholds can be tested directly; the runner gathers the inputs.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

from django.conf import settings

from prefcontent.adapters import metrics
from prefcontent.core.text import distinct_n


@dataclass(frozen=True)
class GateThresholds:
    """Where each check draws its line; override with settings.ADAPTER_GATE = {field: value}."""

    min_reward_accuracy: float = 0.55  # held-out reward accuracy must reach this
    significance_alpha: float = 0.05  # and beat chance (0.5) with a one-sided binomial p below this
    compliance_tolerance: float = 0.0  # allowed excess of the violation rate over the baseline's
    compliance_alpha: float = 0.05  # an excess still fails unless a one-sided Fisher test gives p >= this
    min_diversity_ratio: float = 0.8  # distinct-2 and non-duplicate rate must keep this share of the base's
    near_duplicate_jaccard: float = 0.8  # word-set Jaccard at which two generations count as repeats (word overlap)
    diversity_alpha: float = 0.05  # a non-duplicate share under its floor fails only if a one-sided binomial p < this
    min_length_ratio: float = 0.5  # mean generation length / the base's, lower bound
    max_length_ratio: float = 2.0  # and upper bound
    max_chosen_logp_drop: float = 0.25  # relative fall of held-out chosen log-probs vs the reference
    min_changed_fraction: float = 0.1  # share of same-seed generations that must differ from the base's
    well_formed_tolerance: float = 0.0  # allowed shortfall of the well-formed rate below the base's
    well_formed_alpha: float = 0.05  # a shortfall still passes unless a one-sided Fisher test gives p < this
    min_well_formed_rate: float = 0.5  # and whatever the base does, samples are well-formed at least this often
    claims_tolerance: float = 0.0  # allowed excess of the unsupported-claim rate over the baseline's (and the base's)
    claims_alpha: float = 0.05  # an excess still fails unless a one-sided Fisher test gives p >= this


def gate_thresholds() -> GateThresholds:
    return GateThresholds(**getattr(settings, "ADAPTER_GATE", {}))


def gate_feasibility(*, train_pairs: int, holdout_pairs: int, t: GateThresholds) -> list[str]:
    """Why a run on a snapshot of this size could never pass the gate; empty when it can.

    Checked before a run starts, so nobody waits for a training whose verdict is already known.
    """
    reasons = []
    if train_pairs <= 0:
        reasons.append("the snapshot has no training pair")
    if holdout_pairs <= 0:
        reasons.append("the snapshot has no held-out pair: reward accuracy, its significance and the generation "
                       "checks (held-out briefs) cannot be measured")
    elif (best := metrics.binomial_p_at_least(holdout_pairs, holdout_pairs)) >= t.significance_alpha:
        needed = next(n for n in range(1, 64) if metrics.binomial_p_at_least(n, n) < t.significance_alpha)
        reasons.append(f"{holdout_pairs} held-out pairs: even a perfect reward accuracy has p = {best:.3f}, not below "
                       f"{t.significance_alpha}; the gate needs at least {needed}")
    return reasons


@dataclass(frozen=True)
class GenerationSet:
    """Aligned generations of one set of briefs (same prompt and seed at each index), with their verdicts."""

    base_texts: list[str]  # generations of the base model
    adapter_texts: list[str]  # generations of the candidate
    adapter_violations: list[bool]  # compliance verdict per candidate generation
    baseline_violations: list[bool]  # per generation of the compliance baseline
    # Per generation, well-formed copy for its channel (prefcontent.content.wellformed), of each model.
    base_well_formed: list[bool]
    adapter_well_formed: list[bool]
    # Per generation of the base model when the baseline is the active adapter: the candidate must not
    # break rules significantly more often than the base either, or a rate could creep up a little
    # (within noise) with every promotion. None when the baseline already is the base.
    base_violations: list[bool] | None = None
    # Per generation for a brief with facts: does it make a claim those facts contradict or do not support
    # (prefcontent.content.claims)? Of the candidate, the baseline, and the base when the baseline is the active
    # adapter. None when no brief of the set has facts or the brand's claim_guard is off: no claim check then.
    adapter_unsupported_claims: list[bool] | None = None
    baseline_unsupported_claims: list[bool] | None = None
    base_unsupported_claims: list[bool] | None = None


@dataclass(frozen=True)
class GateInputs:
    """What the gate looks at."""

    holdout: dict  # ml TrainResult.holdout: pairs, reward_accuracy, chosen_logps_mean, rewards_chosen
    beta: float  # DPO beta, to turn rewards back into log-prob differences
    held_out: GenerationSet  # generations for held-out briefs (the tested copy's)
    baseline_label: str = "base"  # "base" or "adapter vN" (the active adapter)
    # The same for the brand's recent briefs (those it generated copy for, with their facts): an adapter can
    # narrow or overclaim on the briefs it serves while the tested copy's look fine. None: none yet.
    recent: GenerationSet | None = None


@dataclass(frozen=True)
class Check:
    name: str
    value: float | None
    threshold: float | list[float]
    comparator: str  # ">=", "<=", "<", "between"
    passed: bool
    detail: str = ""


@dataclass
class GateReport:
    passed: bool
    checks: list[Check] = field(default_factory=list)
    summary: dict = field(default_factory=dict)

    @property
    def reasons(self) -> list[str]:
        return [f"{c.name}: {c.detail}" for c in self.checks if not c.passed]

    def to_dict(self) -> dict:
        return {"passed": self.passed, "reasons": self.reasons, "checks": [asdict(c) for c in self.checks],
                "summary": self.summary}


def _cmp(name: str, value: float | None, threshold, comparator: str, what: str) -> Check:
    if value is None:
        return Check(name, None, threshold, comparator, False, f"not measurable: {what}")
    if comparator == "between":
        ok = threshold[0] <= value <= threshold[1]
    else:
        ok = {">=": value >= threshold, "<=": value <= threshold, "<": value < threshold}[comparator]
    verdict = "ok" if ok else "fails"
    return Check(name, round(value, 6), threshold, comparator, ok,
                 f"{what} = {value:.4f}, needs {comparator} {threshold} ({verdict})")


def _finite(value) -> float | None:
    """A diverged run reports NaN; that is "not measurable", never a pass."""
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def _rate(flags: list[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def _ratio(num: float | None, den: float | None) -> float | None:
    if num is None or den is None:
        return None
    return num / den if den > 0 else (1.0 if num == 0 else float("inf"))


def _compliance_check(name: str, t: GateThresholds, candidate: list[bool], baseline: list[bool], label: str) -> Check:
    """Violation rate not above the baseline's. Both are rates over a few dozen samples, so an excess
    counts only when it is more than sampling noise: a one-sided Fisher exact test of "the candidate
    violates more often" must give p < compliance_alpha for the check to fail."""
    return _excess_check(name, candidate, baseline, tolerance=t.compliance_tolerance, alpha=t.compliance_alpha,
                         what=f"violation rate of generations (baseline {label}: {_rate(baseline)})")


def _claims_check(name: str, t: GateThresholds, candidate: list[bool], baseline: list[bool], label: str) -> Check:
    """Share of generations for held-out briefs with facts that make a claim those facts contradict or do not
    support ("20% off" when the offer is 10%), not above the baseline's beyond sampling noise: A/B winners
    reward such claims, so an adapter learns them while its rewards look fine. The same one-sided Fisher
    test as the compliance checks, at claims_alpha."""
    return _excess_check(name, candidate, baseline, tolerance=t.claims_tolerance, alpha=t.claims_alpha,
                         what=f"unsupported-claim rate of generations for briefs with facts (baseline {label}: "
                              f"{_rate(baseline)})")


def _excess_check(name: str, candidate: list[bool], baseline: list[bool], *, tolerance: float, alpha: float,
                  what: str) -> Check:
    cand, base = _rate(candidate), _rate(baseline)
    check = _cmp(name, cand, (base if base is not None else 0.0) + tolerance, "<=", what)
    if check.passed or cand is None or not baseline:
        return check
    from scipy.stats import fisher_exact

    a, n_a = sum(candidate), len(candidate)
    b, n_b = sum(baseline), len(baseline)
    p = float(fisher_exact([[a, n_a - a], [b, n_b - b]], alternative="greater").pvalue)
    passed = p >= alpha
    verdict = "within sampling noise, ok" if passed else "significantly above, fails"
    return Check(check.name, check.value, check.threshold, check.comparator, passed,
                 f"{check.detail.rsplit(' (', 1)[0]}; {a}/{n_a} vs {b}/{n_b}, one-sided Fisher p = {p:.3f} ({verdict})")


def _well_formed_check(t: GateThresholds, candidate: list[bool], base: list[bool]) -> Check:
    """Well-formed rate not below the base's. An adapter can learn to run on, repeat itself or echo its
    prompt while its rewards look fine, so its samples are read as copy; a shortfall over a few dozen
    samples fails only when it is more than sampling noise: a one-sided Fisher exact test of "the
    candidate is well-formed less often" must give p < well_formed_alpha."""
    cand, ref = _rate(candidate), _rate(base)
    what = f"share of generations that are well-formed copy for their channel (base {ref})"
    check = _cmp("well_formed_rate", cand, round((ref if ref is not None else 1.0) - t.well_formed_tolerance, 6),
                 ">=", what)
    if check.passed or cand is None or not base:
        return check
    from scipy.stats import fisher_exact

    a, n_a = sum(candidate), len(candidate)
    b, n_b = sum(base), len(base)
    p = float(fisher_exact([[n_a - a, a], [n_b - b, b]], alternative="greater").pvalue)
    passed = p >= t.well_formed_alpha
    verdict = "within sampling noise, ok" if passed else "significantly below, fails"
    return Check(check.name, check.value, check.threshold, check.comparator, passed,
                 f"{what} = {cand:.4f}; {a}/{n_a} vs {b}/{n_b}, one-sided Fisher p = {p:.3f} ({verdict})")


def _well_formed_floor_check(t: GateThresholds, candidate: list[bool]) -> Check:
    """Well-formed at least min_well_formed_rate of the time, whatever the base does: a base that does not
    write copy for the channel (say, a chat model given no template) must not let an adapter that does not
    either be promoted. A shortfall fails when P(X <= observed) for X ~ Binomial(n, floor) < well_formed_alpha."""
    cand, floor = _rate(candidate), t.min_well_formed_rate
    what = "share of generations that are well-formed copy for their channel, absolute floor"
    check = _cmp("well_formed_floor", cand, floor, ">=", what)
    if check.passed or cand is None:
        return check
    k, n = sum(candidate), len(candidate)
    p = 1.0 - metrics.binomial_p_at_least(k + 1, n, floor)
    passed = p >= t.well_formed_alpha
    verdict = "within sampling noise, ok" if passed else "significantly below, fails"
    return Check(check.name, check.value, check.threshold, check.comparator, passed,
                 f"{what} = {cand:.4f}; {k}/{n} vs a floor of {floor}, one-sided binomial p = {p:.3f} ({verdict})")


def _non_duplicate_check(t: GateThresholds, candidate: float | None, base: float | None, n: int) -> Check:
    """Share of generations whose word set overlaps no other's (word Jaccard below near_duplicate_jaccard), at
    least min_diversity_ratio of the base's. A share over a few dozen generations moves by several points
    between samples of the same adapter (on the closed-loop simulation, adapters were rejected one to four
    texts in 64 short of the floor), so a shortfall counts only when it is more than sampling noise:
    P(X <= observed) for X ~ Binomial(n, floor) must fall below diversity_alpha, as the compliance checks
    do for an excess."""
    floor = round(t.min_diversity_ratio * (base or 0.0), 6)
    what = f"share of generations whose word set overlaps no other's (base {base})"
    check = _cmp("non_duplicate_rate", candidate, floor, ">=", what)
    if check.passed or candidate is None or n <= 0:
        return check
    k = round(candidate * n)
    p = metrics.binomial_p_at_most(k, n, floor)
    passed = p >= t.diversity_alpha
    verdict = "within sampling noise, ok" if passed else "significantly below, fails"
    return Check(check.name, check.value, check.threshold, check.comparator, passed,
                 f"{what} = {candidate:.4f}; {k}/{n} vs a floor of {floor}, one-sided binomial p = {p:.3f} "
                 f"({verdict})")


def _generation_checks(g: GenerationSet, t: GateThresholds, label: str, *, suffix: str = "",
                       where: str = "") -> list[Check]:
    """The checks read off one set's generations, in report order; `suffix` names the set's checks apart."""
    base, cand = g.base_texts, g.adapter_texts
    have_gen = bool(base) and len(base) == len(cand)
    base_d2 = distinct_n(base, 2) if have_gen else None
    cand_d2 = distinct_n(cand, 2) if have_gen else None
    jac = t.near_duplicate_jaccard
    base_uniq = 1 - metrics.word_overlap_rate(base, jac) if have_gen else None
    cand_uniq = 1 - metrics.word_overlap_rate(cand, jac) if have_gen else None
    length_ratio = _ratio(metrics.mean_words(cand), metrics.mean_words(base)) if have_gen else None
    checks = [_compliance_check("compliance_violation_rate", t, g.adapter_violations, g.baseline_violations, label)]
    if g.base_violations is not None:
        checks.append(_compliance_check("compliance_vs_base", t, g.adapter_violations, g.base_violations, "base"))
    if g.adapter_unsupported_claims is not None and g.baseline_unsupported_claims is not None:
        checks.append(_claims_check("unsupported_claim_rate", t, g.adapter_unsupported_claims,
                                    g.baseline_unsupported_claims, label))
        if g.base_unsupported_claims is not None:
            checks.append(_claims_check("unsupported_claims_vs_base", t, g.adapter_unsupported_claims,
                                        g.base_unsupported_claims, "base"))
    checks += [
        _well_formed_check(t, g.adapter_well_formed, g.base_well_formed) if have_gen
        else _cmp("well_formed_rate", None, 0.0, ">=", "share of well-formed generations"),
        _well_formed_floor_check(t, g.adapter_well_formed if have_gen else []),
        _cmp("distinct_2", cand_d2, round(t.min_diversity_ratio * (base_d2 or 0.0), 6), ">=",
             f"distinct-2 of generations (base {base_d2})"),
        _non_duplicate_check(t, cand_uniq, base_uniq, len(cand)),
        _cmp("length_ratio", length_ratio, [t.min_length_ratio, t.max_length_ratio], "between",
             "mean generation length relative to the base"),
    ]
    if not suffix:
        return checks
    return [replace(c, name=c.name + suffix, detail=f"{where}: {c.detail}") for c in checks]


def _claims_summary(g: GenerationSet) -> dict | None:
    if g.adapter_unsupported_claims is None:
        return None
    return {"adapter": _rate(g.adapter_unsupported_claims), "baseline": _rate(g.baseline_unsupported_claims or []),
            "judged_generations": len(g.adapter_unsupported_claims)}


def evaluate_gate(inputs: GateInputs, t: GateThresholds) -> GateReport:
    h = inputs.holdout or {}
    pairs = int(h.get("pairs", 0))
    acc = _finite(h.get("reward_accuracy")) if pairs else None
    p_value = metrics.binomial_p_at_least(round(acc * pairs), pairs) if acc is not None else None
    # rewards_chosen = beta * (policy - reference) log-probs, so the reference mean is recoverable.
    drop = None
    chosen_logps, rewards_chosen = _finite(h.get("chosen_logps_mean")), _finite(h.get("rewards_chosen"))
    if pairs and chosen_logps is not None and rewards_chosen is not None:
        delta = rewards_chosen / inputs.beta
        reference = chosen_logps - delta
        drop = max(0.0, -delta) / abs(reference) if reference else 0.0
    held_out = inputs.held_out
    base, cand = held_out.base_texts, held_out.adapter_texts
    have_gen = bool(base) and len(base) == len(cand)
    checks = [
        _cmp("reward_accuracy", acc, t.min_reward_accuracy, ">=", f"held-out reward accuracy on {pairs} pairs"),
        _cmp("reward_accuracy_significance", p_value, t.significance_alpha, "<",
             "one-sided binomial p-value of the accuracy against 0.5"),
        *_generation_checks(held_out, t, inputs.baseline_label),
        _cmp("chosen_logp_drop", drop, t.max_chosen_logp_drop, "<=",
             "relative fall of held-out chosen log-probs below the reference (likelihood displacement)"),
        _cmp("changed_fraction", metrics.changed_fraction(base, cand) if have_gen else None,
             t.min_changed_fraction, ">=", "share of same-seed generations that differ from the base"),
    ]
    summary = {"holdout_pairs": pairs, "generations": len(cand), "baseline": inputs.baseline_label,
               "samples": {"base": base[:5], "adapter": cand[:5]}}
    if (claims := _claims_summary(held_out)) is not None:
        summary["unsupported_claim_rate"] = claims
    if inputs.recent is not None and inputs.recent.adapter_texts:
        recent = inputs.recent
        checks += _generation_checks(recent, t, inputs.baseline_label, suffix="_recent", where="recent briefs")
        summary["recent"] = {"generations": len(recent.adapter_texts),
                             "samples": {"base": recent.base_texts[:5], "adapter": recent.adapter_texts[:5]}}
        if (claims := _claims_summary(recent)) is not None:
            summary["recent"]["unsupported_claim_rate"] = claims
    return GateReport(passed=all(c.passed for c in checks), checks=checks, summary=summary)
