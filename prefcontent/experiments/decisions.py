"""Evaluating experiments and deciding them: the rules that turn counts into a winner.

A winner needs all three: the always-valid sequential test on readers at the brand's `alpha`
(prefcontent.experiments.sequential: the winner beats every other arm, and an experiment whose
arms do not differ names one with probability at most alpha however often it is decided), every
arm at `min_sample_per_arm` impressions, and no sample-ratio mismatch. Thompson experiments are
tested by inverse-propensity weighting with the propensities stored at assignment. The Bayesian
figures (probability to be best, expected loss) are descriptions. The decision stores its evidence;
on a winner the preferences task is enqueued by name after commit.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone

from prefcontent.accounts.services import audit_record
from prefcontent.brands.settings import brand_settings
from prefcontent.core import metrics
from prefcontent.core.errors import InvalidState
from prefcontent.core.queue import enqueue_on_commit
from prefcontent.experiments.allocation import thompson_allocation
from prefcontent.experiments.holdout import holdout_arm_counts, holdout_summary, holdout_units
from prefcontent.experiments.models import (
    CONCLUDED,
    PAUSED,
    RUNNING,
    STOPPED,
    Arm,
    Decision,
    Event,
    Experiment,
    success_counter,
)
from prefcontent.experiments.readers import reader_stats
from prefcontent.experiments.sequential import ArmReaders
from prefcontent.experiments.stats import Analysis, ArmCounts, analyze
from prefcontent.tenancy import access
from prefcontent.tenancy.principal import SYSTEM, Principal

BUILD_PAIRS_TASK = "preferences.build_pairs_for_experiment"


@dataclass(frozen=True)
class Evaluation:
    analysis: Analysis  # the stats engine's verdict
    evidence: dict  # what a decision stores (see evidence())


@dataclass(frozen=True)
class DecideResult:
    experiment: Experiment  # the experiment after the call
    evaluation: Evaluation  # the evaluation the call made
    decision: Decision | None  # the decision, when the experiment ended
    earlier: bool = False  # the experiment had already ended before this call: `decision` is that one


def _actor(principal: Principal) -> str:
    if principal.is_user:
        return f"user:{principal.user_id}"
    if principal.is_api_key:
        return f"api_key:{principal.api_key_prefix}"
    return "system"


def experiment_evaluate(*, experiment: Experiment) -> Evaluation:
    """Analyse the current counters (reads only).

    The decision's unit is the reader (readers.py): clicks (or conversions) per reader, under Thompson
    weighted by the inverse of each reader's stored propensity. For the descriptions, trials are
    impressions and successes the primary metric's events, capped at impressions (a click without a
    recorded impression is counted on the arm but cannot push a rate above 1).
    The sample-ratio check compares exposed units (distinct units with an impression event) with
    the planned split: the weights for fixed allocation, the share of stored assignments for
    Thompson (whose weights move on purpose). Units, because assignment splits readers, not page
    views. Experiments known only by their counters (no impression events, e.g. imported history)
    fall back to impressions.
    """
    brand = experiment.brand
    arms = list(Arm.objects.filter(experiment_id=experiment.pk).order_by("id"))
    # Held-out readers (holdout.py) are not part of the test: their assignments, units and events are
    # left out here and counted apart in the evidence's "holdout".
    held = holdout_arm_counts(experiment.pk)

    def net(arm: Arm, counter: str) -> int:  # the arm's counter without held-out readers' events
        return getattr(arm, counter) - held.get(arm.pk, {}).get(counter, 0)

    assigned = dict(experiment.assignments.filter(holdout=False).values_list("arm_id").annotate(n=Count("id"))
                    .values_list("arm_id", "n"))
    metric = success_counter(experiment.primary_metric)
    use_assignments = experiment.allocation == "thompson" and sum(assigned.values()) > 0
    exposed = dict(Event.objects.filter(experiment_id=experiment.pk, type="impression")
                   .exclude(unit_hash__in=holdout_units(experiment.pk)).values("arm_id")
                   .annotate(n=Count("unit_hash", distinct=True)).values_list("arm_id", "n"))
    by_units = sum(exposed.values()) > 0
    counts = []
    for arm in arms:
        share = assigned.get(arm.pk, 0) if use_assignments else arm.weight
        successes = min(net(arm, metric), net(arm, "impressions"))
        counts.append(ArmCounts(arm_id=str(arm.pk), trials=net(arm, "impressions"), successes=successes,
                                expected_share=share if share > 0 else None,
                                units=exposed.get(arm.pk, 0) if by_units else None))
    if any(c.expected_share is None for c in counts):  # fall back to an equal split
        counts = [ArmCounts(c.arm_id, c.trials, c.successes, units=c.units) for c in counts]
    adaptive = experiment.allocation == "thompson"
    per_reader = reader_stats(experiment_id=experiment.pk, metric=experiment.primary_metric, adaptive=adaptive)
    # Known only by counters (no events, e.g. imported): one impression stands in for one reader. Under
    # Thompson nothing stands in: without stored propensities no reader can be weighted, so no winner.
    readers = None
    if per_reader.arms or adaptive:
        none = 0.0 if adaptive else None
        readers = [per_reader.arms.get(arm.pk) or ArmReaders(str(arm.pk), 0, 0.0, 0.0, none, none, none)
                   for arm in arms]
    cfg = brand_settings(brand)
    threshold = cfg.decision_threshold
    control = next(a for a in arms if a.is_control)
    analysis = analyze(counts, str(control.pk), alpha=cfg.alpha, prob_threshold=threshold,
                       min_sample=experiment.min_sample_per_arm, srm_p=cfg.srm_p, seed=experiment.pk,
                       readers=readers, adaptive=adaptive, minimum_detectable_effect=cfg.minimum_detectable_effect,
                       baseline_rate=cfg.baseline_rate)
    evidence = {
        "experiment_id": experiment.pk,
        "primary_metric": experiment.primary_metric,
        "allocation": experiment.allocation,
        "decision_threshold": threshold,
        "alpha": cfg.alpha,
        "minimum_detectable_effect": cfg.minimum_detectable_effect,
        "baseline_rate": cfg.baseline_rate,
        "unit": "reader" if readers is not None else "impression",
        "unweighted_readers": per_reader.unweighted_readers,
        "min_sample_per_arm": experiment.min_sample_per_arm,
        "srm_expected_from": "assignments" if use_assignments else "weights",
        "srm_observed": "exposed_units" if by_units else "impressions",
        "evaluated_at": timezone.now().isoformat(),
        "counts": {
            str(arm.pk): {"variant_id": arm.variant_id, "is_control": arm.is_control, "weight": arm.weight,
                          "impressions": arm.impressions, "clicks": arm.clicks, "conversions": arm.conversions,
                          "assignments": assigned.get(arm.pk, 0), "exposed_units": exposed.get(arm.pk, 0)}
            for arm in arms
        },
        "analysis": analysis.to_dict(),
        "holdout": holdout_summary(experiment_id=experiment.pk, share=cfg.holdout_share, srm_p=cfg.srm_p),
    }
    return Evaluation(analysis=analysis, evidence=evidence)


def _conclude(experiment: Experiment, evaluation: Evaluation, principal: Principal, *, status: str) -> Decision:
    winner = evaluation.analysis.winner_id if status == CONCLUDED else None
    decision = Decision.objects.create(
        experiment=experiment, outcome="winner" if winner else "inconclusive",
        winner_arm_id=int(winner) if winner else None, reason=evaluation.analysis.reason,
        evidence=evaluation.evidence, decided_by=_actor(principal),
    )
    experiment.status = status
    experiment.ended_at = decision.decided_at
    experiment.last_analysis = evaluation.evidence
    experiment.analyzed_at = decision.decided_at
    experiment.save(update_fields=["status", "ended_at", "last_analysis", "analyzed_at"])
    audit_record(principal=principal, organization_id=experiment.brand.organization_id,
                 brand_id=experiment.brand_id, action=f"experiment.{status}", target=experiment,
                 data={"outcome": decision.outcome, "winner_arm": decision.winner_arm_id})
    metrics.DECISIONS.labels(brand=str(experiment.brand_id), outcome=decision.outcome).inc()
    if winner:
        enqueue_on_commit(BUILD_PAIRS_TASK, args=[experiment.pk])
    return decision


def _locked(experiment: Experiment) -> Experiment:
    # FOR NO KEY UPDATE: event and assignment inserts take FOR KEY SHARE on the experiment through their
    # foreign key, which a plain FOR UPDATE would block for the whole evaluation.
    return Experiment.objects.select_for_update(no_key=True).select_related("brand").get(pk=experiment.pk)


def _ended(experiment: Experiment) -> DecideResult | None:
    """The decision an experiment already ended with, answered as if this call had made it.

    A caller racing the periodic decision (the scheduler concluded it a second earlier) gets the
    outcome it asked for instead of an error; only an experiment that never ran is refused.
    """
    decision = Decision.objects.filter(experiment_id=experiment.pk).first()
    if decision is None:
        return None
    evaluation = Evaluation(analysis=Analysis.from_dict(decision.evidence["analysis"]), evidence=decision.evidence)
    return DecideResult(experiment, evaluation, decision, earlier=True)


@transaction.atomic
def experiment_decide(*, principal: Principal, experiment: Experiment) -> DecideResult:
    """Conclude with a winner if the rules allow; otherwise record the evaluation and keep running.

    An experiment that has already ended answers with its decision (`earlier=True`).
    """
    access.brand_require(principal, experiment.brand, "experiments.write")
    experiment = _locked(experiment)
    if experiment.status not in (RUNNING, PAUSED):
        if (ended := _ended(experiment)) is not None:
            return ended
        raise InvalidState(f"Cannot decide an experiment that is {experiment.status}.",
                           details={"status": experiment.status})
    evaluation = experiment_evaluate(experiment=experiment)
    if evaluation.analysis.winner_id is not None:
        return DecideResult(experiment, evaluation, _conclude(experiment, evaluation, principal, status=CONCLUDED))
    experiment.last_analysis = evaluation.evidence
    experiment.analyzed_at = timezone.now()
    experiment.save(update_fields=["last_analysis", "analyzed_at"])
    return DecideResult(experiment, evaluation, None)


@transaction.atomic
def experiment_stop(*, principal: Principal, experiment: Experiment) -> DecideResult:
    """End the experiment: concluded with a winner if the rules already allow one, else stopped inconclusive.

    An experiment that has already ended answers with its decision (`earlier=True`), as in experiment_decide.
    """
    access.brand_require(principal, experiment.brand, "experiments.write")
    experiment = _locked(experiment)
    if experiment.status not in (RUNNING, PAUSED):
        if (ended := _ended(experiment)) is not None:
            return ended
        raise InvalidState(f"Cannot stop an experiment that is {experiment.status}.",
                           details={"status": experiment.status})
    evaluation = experiment_evaluate(experiment=experiment)
    status = CONCLUDED if evaluation.analysis.winner_id is not None else STOPPED
    return DecideResult(experiment, evaluation, _conclude(experiment, evaluation, principal, status=status))


def _unchanged(experiment: Experiment, counters: dict[int, tuple[int, int, int]]) -> bool:
    """True when no arm's counters moved since the stored evaluation: a new look would see the same data."""
    stored = (experiment.last_analysis or {}).get("counts") or {}
    return bool(stored) and len(stored) == len(counters) and all(
        (c.get("impressions"), c.get("clicks"), c.get("conversions")) == counters.get(int(arm_id))
        for arm_id, c in stored.items())


def experiment_latest_evidence(*, experiment: Experiment) -> dict:
    """The evidence of the experiment now (reads only): the stored evaluation while no arm's counters moved
    since it, else a fresh one. For pages polled every few seconds: no aggregate over the events when
    nothing arrived."""
    counters = {arm_id: tuple(counts) for arm_id, *counts in Arm.objects.filter(experiment_id=experiment.pk)
                .values_list("id", "impressions", "clicks", "conversions")}
    if _unchanged(experiment, counters):
        return experiment.last_analysis
    return experiment_evaluate(experiment=experiment).evidence


def experiments_decide_running() -> dict[str, int]:
    """The periodic evaluation: every running experiment whose counters moved since its last evaluation,
    the longest unanalysed first (so a pass cut short by its time limit starts where the last one did
    not reach), each in its own transaction."""
    concluded = evaluated = skipped = 0
    running = list(Experiment.objects.filter(status=RUNNING, source="live").select_related("brand")
                   .order_by(F("analyzed_at").asc(nulls_first=True), "id"))
    counters: dict[int, dict[int, tuple[int, int, int]]] = {}
    for arm_id, experiment_id, *counts in Arm.objects.filter(experiment__in=[e.pk for e in running]).values_list(
            "id", "experiment_id", "impressions", "clicks", "conversions"):
        counters.setdefault(experiment_id, {})[arm_id] = tuple(counts)
    for experiment in running:
        if _unchanged(experiment, counters.get(experiment.pk, {})):
            skipped += 1
            continue
        try:
            result = experiment_decide(principal=SYSTEM, experiment=experiment)
        except InvalidState:  # moved on since the query
            continue
        if result.earlier:  # ended by someone else since the query
            continue
        evaluated += 1
        concluded += result.decision is not None
    return {"evaluated": evaluated, "concluded": concluded, "skipped": skipped}


@transaction.atomic
def experiment_update_thompson_weights(*, experiment: Experiment) -> dict[int, float]:
    """Recompute a Thompson experiment's weights from the arms' posteriors (new units only)."""
    experiment = _locked(experiment)
    arms = list(Arm.objects.filter(experiment_id=experiment.pk).order_by("id"))
    metric = success_counter(experiment.primary_metric)
    weights = thompson_allocation([(a.pk, a.impressions, getattr(a, metric)) for a in arms],
                                  floor=experiment.thompson_floor, warmup=experiment.thompson_warmup,
                                  seed=experiment.pk)
    for arm in arms:
        arm.weight = weights[arm.pk]
    Arm.objects.bulk_update(arms, ["weight"])
    experiment.weights_updated_at = timezone.now()
    experiment.save(update_fields=["weights_updated_at"])
    return weights


def experiments_update_thompson_weights() -> int:
    ids = list(Experiment.objects.filter(status=RUNNING, allocation="thompson").values_list("id", flat=True))
    for experiment_id in ids:
        experiment_update_thompson_weights(experiment=Experiment(pk=experiment_id))
    return len(ids)
