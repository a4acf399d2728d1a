"""Turning concluded experiments into preference pairs, in bulk: a few queries per batch of experiments.

For each experiment decided with a winner, the winner is paired with every other arm. The test
ranks the other arms too: when one of them beat another with the brand's required evidence
(`pair_min_prob`, `pair_min_lift`), that ordering becomes a pair as well ("ranked"), so a test
whose winner breaks the brand's rules still teaches which of the allowed texts did better.
Brands that want winner pairs only set `pairs_from_ranking` to false. A pair that fails a
guardrail is still stored, excluded, with every reason (see models.EXCLUSION_REASONS), so the API
shows what was dropped and why. A chosen text with a claim its brief's facts contradict or do not
support ("20% off" when the offer is 10%) is excluded as `unsupported_claim` unless the brand's
claim_guard is off: A/B winners reward exactly those claims, and training on them teaches them. Contradictions are resolved across the brand after each build
(see contradictions.py).

With `pairs_from_repairs: true` in the brand's settings, every arm whose text breaks the brand's
rules also gives a "repair" pair: the same text with the smallest edit that keeps the rules
(prefcontent.brands.repair: "Save 50%" -> "Save 30%") chosen over the original, weight 1. It
carries the rule, not the audience: it is built whatever the arm's result (so no outcome selects
it), needs no evidence, and its two texts are near-duplicates on purpose. Its chosen text is an edit,
not an observed winner, so training gives it no NLL term (`rpo_alpha`; its snapshot row has
imitate=False): with that term every repair pair also taught "write a discount", and the closed-loop
simulation's violations rose. Off by default: without the term, on the simulation, they make 30 %
the commonest discount but move neither lift nor violation rate beyond noise (see bench/RESULTS.md).
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from prefcontent.brands.compliance import check_text, compliance_rules_for
from prefcontent.brands.repair import repair_text
from prefcontent.brands.settings import OFF, brand_settings
from prefcontent.content.claims import BriefFacts, check_claims, claim_problems
from prefcontent.content.claims.facts import facts_read
from prefcontent.content.hashing import content_hash
from prefcontent.content.models import Variant
from prefcontent.core import metrics
from prefcontent.core.text import is_near_duplicate
from prefcontent.experiments.models import CONCLUDED, Arm, Experiment, success_counter
from prefcontent.preferences import contradictions
from prefcontent.preferences.channels import experiment_channel
from prefcontent.preferences.models import (
    COMPLIANCE,
    EXCLUSION_REASONS,
    INSUFFICIENT_DATA,
    NEAR_DUPLICATE,
    REPAIR,
    REPAIR_KEY_PREFIX,
    SRM,
    UNSUPPORTED_CLAIM,
    PreferencePair,
)
from prefcontent.preferences.prompting import prompt_version, render_prompt
from prefcontent.preferences.weighting import pair_evidence


@dataclass
class BuildResult:
    """What one build did."""

    experiments: int = 0  # concluded experiments with a winner that were turned into pairs
    skipped: int = 0  # experiments skipped: not concluded, no winner, or already built
    pairs: int = 0  # pairs written
    active: int = 0  # of which usable for training
    excluded: dict[str, int] = field(default_factory=dict)  # pairs by primary exclusion reason


def set_exclusions(pair: PreferencePair, exclusions: list[dict]) -> None:
    """Store the reasons in priority order and derive status, primary reason and the filter codes."""
    exclusions = sorted(exclusions, key=lambda e: EXCLUSION_REASONS.index(e["reason"]))
    pair.exclusions = exclusions
    pair.status = "excluded" if exclusions else "active"
    pair.exclusion_reason = exclusions[0]["reason"] if exclusions else ""
    pair.exclusion_codes = "".join(f"|{code}" for code in dict.fromkeys(e["reason"] for e in exclusions))
    pair.exclusion_codes += "|" if exclusions else ""


def pair_hash(prompt: str, chosen: str, rejected: str) -> str:
    return hashlib.sha256(f"{prompt}\x1f{chosen}\x1f{rejected}".encode()).hexdigest()


def _text_hash(variant) -> str:
    return variant.content_hash or content_hash(variant.text)


def _arm_counts(experiment: Experiment, arms: list[Arm]) -> dict[int, tuple[int, int]]:
    """(trials, successes) per arm id, as the decision analysed them (else from the counters, as it would)."""
    analysed = (experiment.decision.evidence or {}).get("analysis", {}).get("arms", [])
    counts = {int(a["arm_id"]): (int(a["trials"]), int(a["successes"])) for a in analysed}
    metric = success_counter(experiment.primary_metric)
    for arm in arms:
        counts.setdefault(arm.pk, (arm.impressions, min(getattr(arm, metric), arm.impressions)))
    return counts


def pairs_build(*, experiment_ids: list[int], rebuild: bool = False) -> BuildResult:
    """Build the pairs of these experiments (concluded with a winner); idempotent unless `rebuild`."""
    with transaction.atomic():
        # Locking the experiments serialises two builders of the same experiment (e.g. a redelivered task):
        # the second sees the first one's pairs and builds nothing.
        experiments = list(
            Experiment.objects.filter(pk__in=experiment_ids, status=CONCLUDED, decision__outcome="winner")
            .select_related("brand", "campaign", "brief", "decision").select_for_update(of=("self",))
            .order_by("pk")
        )
        skipped = len(set(experiment_ids)) - len(experiments)
        stale_keys: dict[int, set[str]] = defaultdict(set)  # keys whose contradictions need a fresh look
        if rebuild:
            old = PreferencePair.objects.filter(experiment_id__in=experiment_ids)
            for brand_id, key in old.values_list("brand_id", "pair_key"):
                stale_keys[brand_id].add(key)
            old.delete()
        else:
            built = set(PreferencePair.objects.filter(experiment_id__in=[e.pk for e in experiments])
                        .values_list("experiment_id", flat=True).distinct())
            skipped += len(built)
            experiments = [e for e in experiments if e.pk not in built]
        arms_by_experiment: dict[int, list[Arm]] = defaultdict(list)
        for arm in Arm.objects.filter(experiment_id__in=[e.pk for e in experiments]).select_related("variant__campaign"):
            arms_by_experiment[arm.experiment_id].append(arm)
        result = pairs_build_loaded(experiments=experiments, arms_by_experiment=arms_by_experiment,
                                    stale_keys=stale_keys)
    result.skipped += skipped
    return result


def pairs_build_loaded(*, experiments: list[Experiment], arms_by_experiment: dict[int, list[Arm]],
                       stale_keys: dict[int, set[str]] | None = None) -> BuildResult:
    """Build pairs for experiments already in memory with `.decision`, `.brand`, `.campaign`, `.brief` and
    their arms with `.variant` (the history import has them all; no reload). Call inside a transaction."""
    result = BuildResult()
    stale_keys = stale_keys if stale_keys is not None else defaultdict(set)
    candidates, evidences = _candidates(experiments, arms_by_experiment, result)

    rules_by_brand, prompts, checks, claim_checks = {}, {}, {}, {}
    pairs = []
    for (experiment, better, worse, counts, ordering), ev in zip(candidates, evidences, strict=True):
        brand = experiment.brand
        if brand.pk not in rules_by_brand:
            rules_by_brand[brand.pk] = (compliance_rules_for(brand), *_evidence_bar(brand),
                                        brand_settings(brand).near_duplicate_threshold)
        rules, min_prob, min_lift, dup_threshold = rules_by_brand[brand.pk]
        channel = experiment_channel(experiment, arms_by_experiment[experiment.pk])
        if experiment.pk not in prompts:
            prompts[experiment.pk] = render_prompt(brand=brand, brief=experiment.brief, channel=channel)
        prompt = prompts[experiment.pk]
        chosen, rejected = better.variant.text, worse.variant.text
        key = (brand.pk, channel, chosen)
        if key not in checks:
            checks[key] = check_text(rules, chosen, channel)
        if (experiment.pk, chosen) not in claim_checks:
            claim_checks[(experiment.pk, chosen)] = unsupported_claims(experiment, chosen)
        analysis = (experiment.decision.evidence or {}).get("analysis", {})
        min_sample = _min_sample(experiment)
        evidence = {
            "experiment_id": experiment.pk, "decision_id": experiment.decision.pk,
            "primary_metric": experiment.primary_metric, "ordering": ordering,
            "chosen": {"arm_id": better.pk, "trials": counts[better.pk][0], "successes": counts[better.pk][1]},
            "rejected": {"arm_id": worse.pk, "trials": counts[worse.pk][0], "successes": counts[worse.pk][1]},
            "prob_better": ev.prob_better, "lift": ev.lift, "p_value": ev.p_value,
            "required_prob": min_prob, "required_lift": min_lift,
            "srm_flag": bool(analysis.get("srm_flag", False)), "srm_p_value": analysis.get("srm_p_value"),
            "decision_reason": experiment.decision.reason,
        }
        weight = ev.weight
        ordering_evidence = _always_valid(analysis, better.pk, worse.pk)
        if ordering_evidence is not None:
            # The decision's always-valid evidence for this ordering: the weight is at most its certainty.
            evidence.update(ordering_evidence)
            weight = round(min(weight, 1 - ordering_evidence["always_valid_p"]), 6)
        pair = PreferencePair(
            brand_id=brand.pk, experiment_id=experiment.pk, chosen_variant_id=better.variant_id,
            rejected_variant_id=worse.variant_id, prompt=prompt, prompt_version=prompt_version(),
            chosen=chosen, rejected=rejected, weight=weight, evidence=evidence,
            pair_hash=pair_hash(prompt, chosen, rejected),
            pair_key="|".join(sorted((_text_hash(better.variant), _text_hash(worse.variant)))),
        )
        set_exclusions(pair, _exclusions(evidence, checks[key], chosen, rejected, min_sample, dup_threshold,
                                         claim_checks[(experiment.pk, chosen)]))
        pairs.append(pair)
    taken = {(p.experiment_id, p.chosen_variant_id, p.rejected_variant_id) for p in pairs}
    for repair in _repair_pairs(experiments, arms_by_experiment, prompts):
        # The repaired text may be another arm of the test, already paired above the same way.
        key = (repair.experiment_id, repair.chosen_variant_id, repair.rejected_variant_id)
        if key not in taken:
            taken.add(key)
            pairs.append(repair)
    PreferencePair.objects.bulk_create(pairs, batch_size=2000)
    for pair in pairs:
        if not pair.pair_key.startswith(REPAIR_KEY_PREFIX):
            stale_keys[pair.brand_id].add(pair.pair_key)
    changed: dict[int, tuple[str, str]] = {}
    for brand_id, keys in stale_keys.items():
        changed.update(contradictions.contradictions_resolve(brand_id=brand_id, pair_keys=keys))

    for pair in pairs:
        status, reason = changed.get(pair.pk, (pair.status, pair.exclusion_reason))
        result.pairs += 1
        brand = str(pair.brand_id)
        metrics.PAIRS_BUILT.labels(brand=brand, status=status).inc()
        if status == "active":
            result.active += 1
        else:
            result.excluded[reason] = result.excluded.get(reason, 0) + 1
            metrics.PAIRS_EXCLUDED.labels(brand=brand, reason=reason).inc()
    return result


def _always_valid(analysis: dict, better_id: int, worse_id: int) -> dict | None:
    """The sequential test's evidence that `better` beats `worse` (Holm-adjusted always-valid p-value and
    confidence sequence of the difference per reader), or None for decisions made before it existed.
    An ordering the test saw the other way round gets p = 1."""
    for c in (analysis.get("sequential") or {}).get("comparisons", []):
        if {c["better_id"], c["worse_id"]} == {str(better_id), str(worse_id)}:
            same = c["better_id"] == str(better_id)
            return {"always_valid_p": c["p_value_holm"] if same else 1.0,
                    "confidence_sequence": [c["cs_low"], c["cs_high"]] if same else None,
                    "readers": c["readers"]}
    return None


def _repair_pairs(experiments: list[Experiment], arms_by_experiment: dict[int, list[Arm]],
                  prompts: dict[int, str]) -> list[PreferencePair]:
    """One pair per rule-breaking arm of these experiments: its repaired text (chosen) over its text."""
    found, rules_by_brand = [], {}  # (experiment, arm, repaired text, violations)
    for experiment in experiments:
        brand = experiment.brand
        if not brand_settings(brand).pairs_from_repairs:
            continue
        if brand.pk not in rules_by_brand:
            rules_by_brand[brand.pk] = compliance_rules_for(brand)
        rules = rules_by_brand[brand.pk]
        if not len(rules):
            continue
        channel = experiment_channel(experiment, arms_by_experiment[experiment.pk])
        for arm in arms_by_experiment[experiment.pk]:
            verdict = check_text(rules, arm.variant.text, channel)
            repaired = None if verdict.ok else repair_text(rules, arm.variant.text, channel)
            if repaired is not None:
                found.append((experiment, arm, repaired, verdict.violations))
    variants = _repair_variants([(experiment, arm.variant, text) for experiment, arm, text, _ in found])
    pairs = []
    for experiment, arm, repaired, violations in found:
        if experiment.pk not in prompts:
            prompts[experiment.pk] = render_prompt(brand=experiment.brand, brief=experiment.brief,
                                                   channel=experiment_channel(experiment,
                                                                              arms_by_experiment[experiment.pk]))
        prompt = prompts[experiment.pk]
        fixed = variants[(experiment.brand_id, content_hash(repaired))]
        key = hashlib.sha256(f"{_text_hash(fixed)}|{_text_hash(arm.variant)}".encode()).hexdigest()
        pairs.append(PreferencePair(
            brand_id=experiment.brand_id, experiment_id=experiment.pk, chosen_variant_id=fixed.pk,
            rejected_variant_id=arm.variant_id, prompt=prompt, prompt_version=prompt_version(),
            chosen=repaired, rejected=arm.variant.text, weight=1.0,
            evidence={"experiment_id": experiment.pk, "ordering": REPAIR, "rejected": {"arm_id": arm.pk},
                      "violations": [{"rule": v.rule, "message": v.message, "rule_id": v.rule_id}
                                     for v in violations]},
            pair_hash=pair_hash(prompt, repaired, arm.variant.text), pair_key=REPAIR_KEY_PREFIX + key,
        ))
    return pairs


def _repair_variants(wanted: list[tuple[Experiment, object, str]]) -> dict[tuple[int, str], Variant]:
    """(brand id, content hash) -> the brand's variant with that text: an existing one, else a new one
    (source "repair", on the experiment's brief). A query per brand (per 2,000 texts) and one insert."""
    by_key = {(e.brand_id, content_hash(text)): (e, original, text) for e, original, text in wanted}
    out: dict[tuple[int, str], Variant] = {}
    for brand_id in {b for b, _ in by_key}:
        hashes = [h for b, h in by_key if b == brand_id]
        for start in range(0, len(hashes), 2000):
            for variant in (Variant.objects.filter(brand_id=brand_id, content_hash__in=hashes[start : start + 2000])
                            .order_by("-pk")):  # the oldest wins
                out[(brand_id, variant.content_hash)] = variant
    new = [Variant(brand_id=b, brief=e.brief, campaign=e.campaign, text=text, source="repair", content_hash=h,
                   provenance={"repair_of": original.pk, "experiment_id": e.pk})
           for (b, h), (e, original, text) in by_key.items() if (b, h) not in out]
    for variant in Variant.objects.bulk_create(new, batch_size=2000):
        out[(variant.brand_id, variant.content_hash)] = variant
    return out


def _min_sample(experiment: Experiment) -> int:
    analysis = (experiment.decision.evidence or {}).get("analysis", {})
    return int(analysis.get("min_sample", experiment.min_sample_per_arm))


def _evidence_bar(brand) -> tuple[float, float]:
    cfg = brand_settings(brand)
    return cfg.pair_min_prob, cfg.pair_min_lift


def _candidates(experiments: list[Experiment], arms_by_experiment: dict[int, list[Arm]], result: BuildResult):
    """(experiment, chosen arm, rejected arm, counts, ordering) per pair to store, and their evidence.

    "winner": the decided winner against every other arm, always stored (excluded when the evidence
    falls short). "ranked": two non-winning arms, stored only when the better one beat the other with
    the brand's required evidence (the test ranked them; a coin flip between losers is no pair).
    """
    candidates = []
    for experiment in experiments:
        arms = arms_by_experiment[experiment.pk]
        winner = next((a for a in arms if a.pk == experiment.decision.winner_arm_id), None)
        if winner is None:
            result.skipped += 1
            continue
        counts = _arm_counts(experiment, arms)
        result.experiments += 1
        candidates.extend((experiment, winner, loser, counts, "winner") for loser in arms if loser.pk != winner.pk)
        if not brand_settings(experiment.brand).pairs_from_ranking:
            continue
        rest = [a for a in arms if a.pk != winner.pk]
        candidates.extend((experiment, a, b, counts, "ranked") for a in rest for b in rest
                          if a.pk != b.pk and counts[a.pk][1] * counts[b.pk][0] > counts[b.pk][1] * counts[a.pk][0])

    evidences = pair_evidence([c[3][c[1].pk][0] for c in candidates], [c[3][c[1].pk][1] for c in candidates],
                              [c[3][c[2].pk][0] for c in candidates], [c[3][c[2].pk][1] for c in candidates],
                              ) if candidates else []
    keep = []
    for (experiment, better, worse, counts, ordering), ev in zip(candidates, evidences, strict=True):
        if ordering == "ranked" and _evidence_shortfall(counts[better.pk][0], counts[worse.pk][0], ev.prob_better,
                                                        ev.lift, _min_sample(experiment),
                                                        *_evidence_bar(experiment.brand)):
            continue
        keep.append(((experiment, better, worse, counts, ordering), ev))
    return [c for c, _ in keep], [e for _, e in keep]


def _evidence_shortfall(chosen_trials: int, rejected_trials: int, prob_better: float, lift: float | None,
                        min_sample: int, min_prob: float, min_lift: float) -> str | None:
    """Why the counts fall short of the brand's evidence bar, or None when they meet it."""
    short = [side for side, n in (("chosen", chosen_trials), ("rejected", rejected_trials)) if n < min_sample]
    if short:
        return f"{' and '.join(short)} arm below the minimum sample of {min_sample}"
    if prob_better < min_prob:
        return f"P(chosen better) {prob_better:.3f} < required {min_prob:g}"
    if lift is not None and lift < min_lift:
        return f"lift {lift:.3f} < required {min_lift:g}"
    return None


def unsupported_claims(experiment: Experiment, text: str, *, factless: bool = False) -> list[dict]:
    """The claims of `text` that the experiment's brief's facts contradict or do not support, read for the day the
    experiment started ("ends tonight" then); [] when the brand's claim_guard is off, or the brief has no facts
    (with `factless`, a brief without facts is read as one that backs nothing but the brand's allowed claims)."""
    brief = experiment.brief
    cfg = brand_settings(experiment.brand)
    facts = facts_read(brief.facts, also_allowed=cfg.allowed_claims) if brief is not None else None
    if facts is None and factless:
        facts = BriefFacts(allowed_claims=tuple(cfg.allowed_claims))
    if facts is None or cfg.claim_guard == OFF:
        return []
    today = timezone.localdate(experiment.started_at or experiment.created_at)
    return [{k: p[k] for k in ("kind", "text", "verdict", "reason")}
            for p in claim_problems(check_claims(text, facts, today=today, locale=getattr(brief, "locale", "") or "en",
                                                 product=getattr(brief, "product", "") or ""))]


def _exclusions(evidence: dict, compliance, chosen: str, rejected: str, min_sample: int,
                dup_threshold: float, claims: list[dict] = ()) -> list[dict]:
    out = []
    if not compliance.ok:
        out.append({"reason": COMPLIANCE, "message": "the chosen text breaks the brand's compliance rules",
                    "violations": [{"rule": v.rule, "message": v.message, "rule_id": v.rule_id}
                                   for v in compliance.violations]})
    if claims:
        out.append({"reason": UNSUPPORTED_CLAIM, "claims": list(claims),
                    "message": "the chosen text claims what its brief's facts do not support: "
                               + "; ".join(f"{c['verdict']} {c['kind']} {c['text']!r}" for c in claims)})
    duplicate, score = is_near_duplicate(chosen, rejected, dup_threshold)
    if duplicate:
        out.append({"reason": NEAR_DUPLICATE, "message": f"the texts are {score:.0%} similar", "similarity":
                    round(score, 4)})
    if evidence["srm_flag"]:
        out.append({"reason": SRM, "message": "the source experiment had a sample ratio mismatch "
                                              f"(p={evidence['srm_p_value']})"})
    shortfall = _evidence_shortfall(evidence["chosen"]["trials"], evidence["rejected"]["trials"],
                                    evidence["prob_better"], evidence["lift"], min_sample,
                                    evidence["required_prob"], evidence["required_lift"])
    if shortfall:
        out.append({"reason": INSUFFICIENT_DATA, "message": shortfall})
    return out


def pairs_build_for_experiment(*, experiment_id: int, rebuild: bool = False) -> BuildResult:
    return pairs_build(experiment_ids=[experiment_id], rebuild=rebuild)
